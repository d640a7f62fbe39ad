"""No field is silently ignored (docs/compose-format.md).

``TABLE`` names, for every field of every component schema (``COMPONENT_TYPES``, and the
fields of the models nested in them: ``resources``, ``where``), the check that proves it
does something: an observable effect on a tiny run or on what the runner builds (rows,
steps, training arguments, optimizer arguments, saved files, weights), or a refusal or
warning at validation. Each check is one test below; it records every field it proved
and fails unless that is exactly the fields ``TABLE`` gives it. A field added to the
schema without an entry fails ``test_every_schema_field_is_in_the_table``.
"""

from __future__ import annotations

import json
import socket
import textwrap
import typing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from compose.schema.components import COMPONENT_TYPES, OPTIMIZER_ARGS, OPTIMIZERS, TrainerComponent
from tests.fixtures import data
from tests.fixtures.training import losses, metrics, run_trainer, trainer_spec
from tests.runner.dataset_prep.conftest import DatasetJobs

T, D, M = "model-trainer", "datasets", "model"

# field -> the test that proves it has an effect (or is refused / warned about).
TABLE: dict[str, str] = {
    # Structure: a job names its component by id; the type picks the schema.
    f"{T}.id": "validation",
    f"{T}.type": "validation",
    f"{D}.id": "validation",
    f"{D}.type": "validation",
    # Trainer fields that land in SFTConfig / TrainingArguments.
    **{
        f"{T}.{name}": "trainer_args"
        for name in (
            "learning_rate",
            "per_device_train_batch_size",
            "per_device_eval_batch_size",
            "num_epochs",
            "max_steps",
            "lr_scheduler_type",
            "lr_scheduler_kwargs",
            "warmup_steps",
            "weight_decay",
            "max_grad_norm",
            "gradient_accumulation_steps",
            "eval_steps",
            "save_steps",
            "logging_steps",
            "gradient_checkpointing",
            "bf16",
            "seed",
            "max_seq_length",
            "packing",
        )
    },
    # What the optimizer is built with.
    f"{T}.optimizer": "optimizer",
    f"{T}.optimizer_args": "optimizer",
    f"{T}.optim_target_modules": "optimizer",
    # The rows the trainer trains on.
    f"{T}.text_column": "rows",
    f"{T}.prompt_column": "rows",
    f"{T}.response_column": "rows",
    f"{T}.system_column": "rows",
    f"{T}.text_pair_column": "rows",
    f"{T}.label_column": "rows",
    # Tiny runs: files, events, weights.
    f"{T}.model": "sft_run",
    f"{T}.tokenizer": "sft_run",
    f"{T}.dataset": "sft_run",
    f"{T}.eval_dataset": "sft_run",
    f"{T}.output_dir": "sft_run",
    f"{T}.fp16": "sft_run",
    f"{T}.task": "classification_run",
    **{
        f"{T}.{name}": "lora_run"
        for name in (
            "peft_adapter",
            "lora_r",
            "lora_alpha",
            "lora_dropout",
            "lora_target_modules",
            "lora_bias",
            "chat_template",
        )
    },
    f"{T}.quantization": "quantization",
    f"{T}.bnb_4bit_compute_dtype": "quantization",
    f"{T}.bnb_4bit_use_double_quant": "quantization",
    f"{T}.resume_from_checkpoint": "resume",
    f"{T}.resources": "launch",
    f"{T}.resources.gpus": "launch",
    f"{T}.resources.processes": "launch",
    f"{T}.resources.launcher": "launch",
    f"{T}.resources.labels": "placement_need",
    f"{T}.resources.gpu_memory_gb": "placement_need",
    # Datasets: loads and operations run as jobs.
    **{
        f"{D}.{name}": "load_jobs"
        for name in (
            "provider",
            "path",
            "split",
            "streaming",
            "cache_dir",
            "shuffle",
            "fraction",
            "seed",
            "loader",
            "data_files",
            "data_dir",
        )
    },
    # Passed to the hub only: on local files a warning (docs/datasets.md).
    **{f"{D}.{name}": "validation" for name in ("name", "revision", "token", "trust_remote_code")},
    **{
        f"{D}.{name}": "op_jobs"
        for name in (
            "method",
            "datasets",
            "direction",
            "dataset",
            "axis",
            "indices",
            "columns",
            "condition",
            "where",
            "template",
            "output_column",
            "remove_columns",
        )
    },
    **{f"{D}.where.{name}": "op_jobs" for name in ("column", "operator", "value", "all", "any", "not_")},
    # Model (inference) jobs on the tiny causal LM and classifier.
    f"{M}.id": "model_validation",
    f"{M}.type": "model_validation",
    f"{M}.peft_adapters.type": "model_validation",
    **{
        f"{M}.{name}": "model_run"
        for name in (
            "task",
            "model",
            "model.provider",
            "model.path",
            "prompt",
            "messages",
            "text",
            "dataset",
            "batch_size",
            "max_seq_length",
            "max_output_length",
            "num_return_sequences",
            "stop_sequences",
            "precision",
            "device",
        )
    },
    **{
        f"{M}.{name}": "model_adapters"
        for name in ("peft_adapters", "peft_adapters.name", "peft_adapters.model", "peft_adapters.weight")
    },
    **{f"{M}.{name}": "model_generation_args" for name in ("do_sample", "temperature", "top_p", "top_k", "num_beams")},
    f"{M}.quantization": "model_quantization",
    f"{M}.model.repository": "model_source",
    f"{M}.model.revision": "model_source",
}


def schema_fields() -> set[str]:
    """``type.field`` for every component field, and ``type.field.sub`` for nested models."""
    found: set[str] = set()
    for ctype, model in COMPONENT_TYPES.items():
        for name, info in model.model_fields.items():
            found.add(f"{ctype}.{name}")
            for nested in _models_in(info.annotation):
                found |= {f"{ctype}.{name}.{sub}" for sub in nested.model_fields}
    return found


def _models_in(annotation: Any) -> set[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {annotation}
    return {m for arg in typing.get_args(annotation) for m in _models_in(arg)}


def test_every_schema_field_is_in_the_table() -> None:
    fields = schema_fields()
    missing = sorted(fields - set(TABLE))
    assert not missing, (
        f"schema fields with no proof of an effect: {', '.join(missing)}. Make each change "
        "what a run does and add it to TABLE with the test that shows it, or refuse/warn "
        "about it at validation"
    )
    assert not sorted(set(TABLE) - fields), "TABLE names fields the schema no longer has"


class Proof:
    """The fields one check proved; ``done`` compares them with ``TABLE``."""

    def __init__(self, check: str) -> None:
        self.check = check
        self.fields: set[str] = set()

    def __call__(self, field: str, holds: bool, why: str = "") -> None:
        assert holds, f"{field}: {why or 'no effect'}"
        self.fields.add(field)

    def done(self) -> None:
        expected = {f for f, c in TABLE.items() if c == self.check}
        assert self.fields == expected, (
            f"{self.check}: not proved {sorted(expected - self.fields)}, "
            f"proved but not in TABLE {sorted(self.fields - expected)}"
        )


# --- validation -----------------------------------------------------------------------


def test_validation() -> None:
    from compose.loader import parse

    proof = Proof("validation")
    wrong_ids = parse(
        textwrap.dedent("""\
        components:
          - id: trainer
            type: model-trainer
            task: sft
          - id: data
            type: datasets
        workflows:
          - id: w
            jobs:
              - {id: a, component: trainr}
              - {id: b, component: dat}
        """)
    )
    messages = [p.message for p in wrong_ids.errors]
    proof(f"{T}.id", any("no component `trainr` (did you mean `trainer`?)" in m for m in messages))
    proof(f"{D}.id", any("no component `dat` (did you mean `data`?)" in m for m in messages))
    wrong_types = parse("components:\n  - {id: t, type: model-traner, task: sft}\n  - {id: d, type: dataset}\n")
    messages = [p.message for p in wrong_types.errors]
    proof(f"{T}.type", any("not 'model-traner'" in m for m in messages))
    proof(f"{D}.type", any("not 'dataset'" in m for m in messages))

    local = parse(
        textwrap.dedent("""\
        components:
          - id: local
            type: datasets
            provider: local
            data_files: ./data/train.jsonl
            name: default
            revision: main
            token: ${env.HF_TOKEN}
            trust_remote_code: true
        """)
    )
    warned = {p.path: p for p in local.warnings}
    for name in ("name", "revision", "token", "trust_remote_code"):
        problem = warned.get(f"components[0].{name}")
        proof(
            f"{D}.{name}",
            problem is not None
            and problem.line is not None
            and "has no effect on a load of local files" in problem.message,
        )
    proof.done()


# --- what the runner builds -----------------------------------------------------------

CPU = SimpleNamespace(cuda=False, bf16_supported=True, liger=False, gpu_count=0)


def _cfg(**fields: Any) -> TrainerComponent:
    return TrainerComponent(
        id="t", task="sft", dataset={"type": "dataset", "path": "d"}, **{"text_column": "text", **fields}
    )


def _sft_args(tmp_path: Path, **fields: Any):
    from runner.finetune import args as trainer_args

    return trainer_args.sft_config(
        _cfg(**fields),
        text_field="text",
        prompt_completion=False,
        output_dir=str(tmp_path),
        has_eval=True,
        hw=CPU,
        target_modules=None,
    )


def test_trainer_args(tmp_path: Path) -> None:
    proof = Proof("trainer_args")
    base = _sft_args(tmp_path)
    # field: (value, [(argument, expected)])
    cases: dict[str, tuple[Any, list[tuple[str, Any]]]] = {
        "learning_rate": ("2e-4", [("learning_rate", 2e-4)]),
        "per_device_train_batch_size": (3, [("per_device_train_batch_size", 3)]),
        "per_device_eval_batch_size": (5, [("per_device_eval_batch_size", 5)]),
        "num_epochs": (2, [("num_train_epochs", 2)]),
        "max_steps": (7, [("max_steps", 7)]),
        "lr_scheduler_type": ("cosine", [("lr_scheduler_type", "cosine")]),
        "lr_scheduler_kwargs": ({"num_cycles": 0.25}, [("lr_scheduler_kwargs", {"num_cycles": 0.25})]),
        "warmup_steps": (4, [("warmup_steps", 4)]),
        "weight_decay": (0.01, [("weight_decay", 0.01)]),
        "max_grad_norm": (0.5, [("max_grad_norm", 0.5)]),
        "gradient_accumulation_steps": (4, [("gradient_accumulation_steps", 4)]),
        "eval_steps": (11, [("eval_steps", 11), ("eval_strategy", "steps")]),
        "save_steps": (13, [("save_steps", 13)]),
        "logging_steps": (3, [("logging_steps", 3)]),
        "gradient_checkpointing": (True, [("activation_checkpointing", True)]),
        "bf16": (True, [("bf16", True)]),
        "seed": (9, [("seed", 9), ("data_seed", 9)]),
        "max_seq_length": (77, [("max_length", 77)]),
        "packing": (True, [("packing", True)]),
    }
    for name, (value, expected) in cases.items():
        changed = _sft_args(tmp_path, **{name: value})
        for argument, want in expected:
            got, default = getattr(changed, argument), getattr(base, argument)
            if hasattr(got, "value"):
                got, default = got.value, getattr(default, "value", default)
            proof(f"{T}.{name}", got == want and default != want, f"{argument} is {got!r} (default {default!r})")
    proof.done()


@pytest.fixture(scope="module")
def tiny_model(tiny_causal_lm_dir: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)


def _optimizer(tmp_path: Path, model: Any, **fields: Any):
    from transformers import Trainer

    from runner.finetune import trainers

    cfg = _cfg(**fields)
    _, targets = trainers._finish_model(model, SimpleNamespace(cfg=cfg))
    from runner.finetune import args as trainer_args

    args = trainer_args.training_arguments(
        cfg, output_dir=str(tmp_path), has_eval=False, hw=CPU, target_modules=targets
    )
    return targets, Trainer.get_optimizer_cls_and_kwargs(args, model)


def test_optimizer(tmp_path: Path, tiny_model: Any) -> None:
    proof = Proof("optimizer")
    _, (adamw, _) = _optimizer(tmp_path, tiny_model)
    _, (sgd, sgd_kwargs) = _optimizer(tmp_path, tiny_model, optimizer="sgd")
    proof(f"{T}.optimizer", adamw.__name__ == "AdamW" and sgd.__name__ == "SGD")
    _, (_, momentum_kwargs) = _optimizer(tmp_path, tiny_model, optimizer="sgd", optimizer_args={"momentum": 0.9})
    proof(f"{T}.optimizer_args", momentum_kwargs.get("momentum") == 0.9 and "momentum" not in sgd_kwargs)
    default_targets, _ = _optimizer(tmp_path, tiny_model, optimizer="galore_adamw")
    targets, (_, galore_kwargs) = _optimizer(
        tmp_path, tiny_model, optimizer="galore_adamw", optim_target_modules=["q_proj"]
    )
    projected = [group for group in galore_kwargs["params"] if "rank" in group]
    proof(
        f"{T}.optim_target_modules",
        targets == ["q_proj"]
        and default_targets != targets
        and sum(p.numel() for g in projected for p in g["params"])
        == sum(m.weight.numel() for n, m in tiny_model.named_modules() if n.endswith("q_proj")),
    )
    proof.done()


def test_optimizer_args_table_matches_transformers(tmp_path: Path, tiny_model: Any) -> None:
    """OPTIMIZER_ARGS (what validation accepts) against what transformers passes on."""
    from transformers import Trainer, TrainingArguments

    from runner.finetune.optimizers import CUDA_ONLY, transformers_name

    def kwargs(optimizer: str, optim_args: str | None) -> str:
        args = TrainingArguments(
            output_dir=str(tmp_path),
            optim=transformers_name(optimizer),
            optim_args=optim_args,
            optim_target_modules=["q_proj"],
            use_cpu=True,
            report_to="none",
        )
        _, built = Trainer.get_optimizer_cls_and_kwargs(args, tiny_model)
        return repr(_plain(built))

    values = {
        "nesterov": "true",
        "centered": "true",
        "kahan_sum": "1",
        "decouple_lr": "1",
        "proj_type": "left",
        "rank": "4",
        "update_proj_gap": "7",
    }
    for optimizer in OPTIMIZERS:
        if transformers_name(optimizer) in CUDA_ONLY and optimizer != "galore_adamw_8bit":
            continue
        plain = kwargs(optimizer, None)
        assert kwargs(optimizer, "zzz=1") == plain, f"{optimizer} reads a key outside OPTIMIZER_ARGS"
        for key in OPTIMIZER_ARGS[optimizer]:
            assert kwargs(optimizer, f"{key}={values.get(key, '0.37')}") != plain, f"{optimizer} ignores {key}"


def _plain(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape))
    if isinstance(value, torch.nn.Module):
        return type(value).__name__
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_rows(tiny_causal_lm_dir: Path) -> None:
    from datasets import Dataset
    from transformers import AutoTokenizer

    from runner.finetune.data import classification_rows, sft_rows

    proof = Proof("rows")
    rows = Dataset.from_list([{"body": "the text", "q": "a question", "a": "an answer", "sys": "be brief"}])
    text = sft_rows(rows, _cfg(text_column="body"), conversational=True)
    proof(f"{T}.text_column", text.to_list() == [{"text": "the text"}])
    pair = sft_rows(rows, _cfg(text_column=None, prompt_column="q", response_column="a"), conversational=True)
    [row] = pair.to_list()
    proof(f"{T}.prompt_column", row["prompt"] == [{"role": "user", "content": "a question"}])
    proof(f"{T}.response_column", row["completion"] == [{"role": "assistant", "content": "an answer"}])
    [with_system] = sft_rows(
        rows, _cfg(text_column=None, prompt_column="q", response_column="a", system_column="sys"), conversational=True
    ).to_list()
    proof(f"{T}.system_column", with_system["prompt"][0] == {"role": "system", "content": "be brief"})

    tokenizer = AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    review = Dataset.from_list([{"text": "great film", "second": "loved it", "label": "pos", "stars": "neg"}])
    classifier = dict(task="classification", dataset={"type": "dataset", "path": "d"})
    plain = classification_rows(
        review, TrainerComponent(id="c", **classifier), tokenizer, {"pos": 0, "neg": 1}
    ).to_list()[0]
    paired = classification_rows(
        review, TrainerComponent(id="c", text_pair_column="second", **classifier), tokenizer, {"pos": 0, "neg": 1}
    ).to_list()[0]
    proof(f"{T}.text_pair_column", len(paired["input_ids"]) > len(plain["input_ids"]))
    stars = classification_rows(
        review, TrainerComponent(id="c", label_column="stars", **classifier), tokenizer, {"pos": 0, "neg": 1}
    ).to_list()[0]
    proof(f"{T}.label_column", (plain["labels"], stars["labels"]) == (0, 1))
    proof.done()


def test_quantization() -> None:
    from runner.finetune.model import quantization_config

    proof = Proof("quantization")
    base = dict(peft_adapter="lora")
    proof(
        f"{T}.quantization",
        quantization_config(_cfg(**base)) is None
        and quantization_config(_cfg(quantization="nf4", **base)).bnb_4bit_quant_type == "nf4"
        and quantization_config(_cfg(quantization="int4", **base)).bnb_4bit_quant_type == "fp4"
        and quantization_config(_cfg(quantization="int8", **base)).load_in_8bit,
    )
    dtype = quantization_config(_cfg(quantization="nf4", bnb_4bit_compute_dtype="bfloat16", **base))
    proof(
        f"{T}.bnb_4bit_compute_dtype",
        str(dtype.bnb_4bit_compute_dtype) == "torch.bfloat16"
        and str(quantization_config(_cfg(quantization="nf4", **base)).bnb_4bit_compute_dtype) == "torch.float32",
    )
    double = quantization_config(_cfg(quantization="nf4", bnb_4bit_use_double_quant=True, **base))
    proof(
        f"{T}.bnb_4bit_use_double_quant",
        double.bnb_4bit_use_double_quant is True
        and quantization_config(_cfg(quantization="nf4", **base)).bnb_4bit_use_double_quant is False,
    )
    proof.done()


def test_resume(tmp_path: Path) -> None:
    from runner.finetune.outputs import resolve_resume

    proof = Proof("resume")
    checkpoint = tmp_path / "out" / "checkpoint-3"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    proof(
        f"{T}.resume_from_checkpoint",
        resolve_resume(None, tmp_path / "out", lambda p: tmp_path / p) is None
        and resolve_resume("latest", tmp_path / "out", lambda p: tmp_path / p) == checkpoint
        and resolve_resume("out/checkpoint-3", tmp_path / "out", lambda p: tmp_path / p) == checkpoint,
    )
    proof.done()


def test_launch(tmp_path: Path) -> None:
    from compose.jobspec import JobSpec
    from runner.launch import process_count, runner_command

    proof = Proof("launch")

    def spec(**resources: Any) -> JobSpec:
        config = _cfg(resources=resources).model_dump(mode="json")
        return JobSpec(
            run_id="r",
            job_id="j",
            component_id="t",
            component_type=T,
            method="train",
            config=config,
            base_dir=str(tmp_path),
            storage_dir=str(tmp_path),
        )

    proof(f"{T}.resources", process_count(spec()) == 1 and process_count(spec(processes=2)) == 2)
    proof(f"{T}.resources.gpus", process_count(spec(gpus=4)) == 4)
    proof(f"{T}.resources.processes", process_count(spec(processes=3)) == 3)
    torchrun, accelerate = runner_command(spec(processes=2)), runner_command(spec(processes=2, launcher="accelerate"))
    proof(f"{T}.resources.launcher", "torch.distributed.run" in torchrun and "accelerate.commands.launch" in accelerate)
    proof.done()


def test_placement_need() -> None:
    from compose.loader import load_compose
    from compose.need import run_need
    from runner.finetune.args import ConfigProblem, Hardware, check_gpus

    proof = Proof("placement_need")
    doc = load_compose(
        textwrap.dedent("""
        components:
          - {id: t, type: model-trainer, task: sft, resources: {gpus: 1, labels: [a100, nvme], gpu_memory_gb: 40}}
        workflows:
          - {id: w, jobs: [{id: train, component: t}]}
    """)
    )
    need = run_need(doc, "w")
    proof(f"{T}.resources.labels", need.labels == ("a100", "nvme"))
    cfg = _cfg(resources={"gpus": 1, "gpu_memory_gb": 40})
    check_gpus(cfg, Hardware(cuda=True, bf16_supported=True, gpu_count=1, gpu_memory_mb=(80 * 1024,)))
    with pytest.raises(ConfigProblem, match="cuda:0 has 24.0 GB"):
        check_gpus(cfg, Hardware(cuda=True, bf16_supported=True, gpu_count=1, gpu_memory_mb=(24 * 1024,)))
    proof(f"{T}.resources.gpu_memory_gb", need.gpu_memory_gb == 40)
    proof.done()


# --- tiny training runs -------------------------------------------------------------

FAST = dict(
    max_steps=2, per_device_train_batch_size=2, logging_steps=1, save_steps=None, max_seq_length=32, learning_rate=1e-3
)


def test_sft_run(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from tests.fixtures.tiny_models import build_tokenizer

    proof = Proof("sft_run")
    tokenizer_dir = tmp_path / "tokenizer"
    tokenizer = build_tokenizer()
    tokenizer.model_max_length = 77
    tokenizer.save_pretrained(tokenizer_dir)
    rows = data.text_rows(6)
    first = tmp_path / "first"
    output, seen = run_trainer(
        trainer_spec(
            first,
            tiny_causal_lm_dir,
            rows,
            eval_rows=rows[:2],
            tokenizer=str(tokenizer_dir),
            text_column="text",
            output_dir=str(tmp_path / "trained"),
            **FAST,
        )
    )
    out = Path(output["output_dir"])
    proof(f"{T}.output_dir", out == (tmp_path / "trained").resolve() and (out / "model.safetensors").is_file())
    logs = [e["message"] for e in seen if e["type"] == "log"]
    proof(f"{T}.dataset", any("training 133,440 of 133,440 parameters on 6 rows" in m for m in logs))
    proof(f"{T}.model", json.loads((out / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"])
    proof(f"{T}.tokenizer", json.loads((out / "tokenizer_config.json").read_text())["model_max_length"] == 77)
    proof(f"{T}.eval_dataset", [e["step"] for e in metrics(seen, "eval")] == [2] and "perplexity" in output["metrics"])
    second = tmp_path / "second"
    _, fp16 = run_trainer(
        trainer_spec(
            second,
            tiny_causal_lm_dir,
            rows,
            eval_rows=rows[:2],
            tokenizer=str(tokenizer_dir),
            text_column="text",
            fp16=True,
            output_dir=str(tmp_path / "fp16"),
            **FAST,
        )
    )
    proof(f"{T}.fp16", [loss for _, loss in losses(fp16)] != [loss for _, loss in losses(seen)])
    proof.done()


def test_classification_run(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    proof = Proof("classification_run")
    rows = data.classification_rows(8)
    output, seen = run_trainer(
        trainer_spec(tmp_path, tiny_classifier_dir, rows, task="classification", eval_rows=rows[:4], **FAST)
    )
    out = Path(output["output_dir"])
    config = json.loads((out / "config.json").read_text())
    proof(
        f"{T}.task",
        config["architectures"] == ["BertForSequenceClassification"]
        and {"accuracy", "f1"} <= set(output["metrics"])
        and output["labels"] == ["negative", "positive"],
    )
    proof.done()


def test_lora_run(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from safetensors.torch import load_file

    proof = Proof("lora_run")
    template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    output, _ = run_trainer(
        trainer_spec(
            tmp_path,
            tiny_causal_lm_dir,
            data.prompt_response_rows(6),
            prompt_column="prompt",
            response_column="response",
            chat_template=template,
            peft_adapter="lora",
            lora_r=4,
            lora_alpha=12,
            lora_dropout=0.2,
            lora_bias="all",
            lora_target_modules=["q_proj", "lm_head"],
            **FAST,
        )
    )
    out = Path(output["output_dir"])
    config = json.loads((out / "adapter_config.json").read_text())
    adapter = load_file(out / "adapter_model.safetensors")
    proof(f"{T}.peft_adapter", output["adapter"] is True and not (out / "model.safetensors").exists())
    proof(f"{T}.lora_r", config["r"] == 4 and adapter[next(n for n in adapter if "lora_A" in n)].shape[0] == 4)
    proof(f"{T}.lora_alpha", config["lora_alpha"] == 12)
    proof(f"{T}.lora_dropout", config["lora_dropout"] == 0.2)
    proof(f"{T}.lora_bias", config["bias"] == "all")  # the tiny Llama has no biases to train
    proof(
        f"{T}.lora_target_modules",
        config["target_modules"] == ["q_proj"]
        and config["modules_to_save"] == ["lm_head"]
        and any("lm_head" in n for n in adapter),
    )
    proof(f"{T}.chat_template", (out / "chat_template.jinja").read_text() == template)
    proof.done()


# --- datasets jobs --------------------------------------------------------------------


@pytest.fixture
def jobs(tmp_path: Path) -> DatasetJobs:
    base = tmp_path / "workspace"
    base.mkdir()
    return DatasetJobs(base, tmp_path / "storage")


def _closed_port() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def test_load_jobs(jobs: DatasetJobs) -> None:
    proof = Proof("load_jobs")
    rows = [{"text": f"row {i}", "n": i} for i in range(10)]
    jobs.write_jsonl("data/a.jsonl", rows)
    jobs.write_jsonl("data/b.jsonl", [{"text": "b", "n": 99}])
    jobs.write_jsonl("split/train.jsonl", rows[:2])
    jobs.write_jsonl("split/test.jsonl", rows[2:3])
    proof(f"{D}.path", jobs.rows(jobs.run("load", path="./data/b.jsonl")) == [{"text": "b", "n": 99}])
    proof(f"{D}.data_files", jobs.rows(jobs.run("load", data_files="data/a.jsonl")) == rows)
    proof(f"{D}.data_dir", jobs.rows(jobs.run("load", loader="json", data_dir="split")) == rows[:2])
    as_text = jobs.rows(jobs.run("load", loader="text", data_files="data/b.jsonl"))
    proof(f"{D}.loader", as_text == [{"text": '{"text": "b", "n": 99}'}])
    proof(f"{D}.split", jobs.rows(jobs.run("load", loader="json", data_dir="split", split="test")) == rows[2:3])
    proof(f"{D}.fraction", jobs.rows(jobs.run("load", data_files="data/a.jsonl", fraction=0.3)) == rows[:3])
    shuffled = jobs.rows(jobs.run("load", data_files="data/a.jsonl", shuffle=True, seed=1))
    proof(f"{D}.shuffle", shuffled != rows and sorted(shuffled, key=lambda r: r["n"]) == rows)
    reseeded = jobs.rows(jobs.run("load", data_files="data/a.jsonl", shuffle=True, seed=2))
    proof(f"{D}.seed", reseeded != shuffled)
    # Files no load above read: an unshuffled load is reused by the files' content alone.
    jobs.write_jsonl("fresh/c.jsonl", rows[:4])
    jobs.write_jsonl("fresh/d.jsonl", rows[4:])
    before = len(jobs.of_type("progress"))
    streamed = jobs.rows(jobs.run("load", data_files="fresh/c.jsonl", streaming=True))
    loads = [e for e in jobs.of_type("progress")[before:] if e["stage"] == "load"]
    proof(f"{D}.streaming", streamed == rows[:4] and bool(loads) and loads[-1]["current"] == 4)
    jobs.run("load", data_files="fresh/d.jsonl", cache_dir="cache")
    proof(f"{D}.cache_dir", any((jobs.base / "cache").rglob("*.arrow")))
    # A hub-like id: provider: local reads it as a folder; without, it goes to the hub.
    local = jobs.fail("load", provider="local", path="missing/set")
    hub = jobs.fail("load", path="missing/set", env={"HF_ENDPOINT": _closed_port()})
    proof(f"{D}.provider", "'missing/set' not found" in local and "Hugging Face Hub" in hub)
    proof.done()


def test_op_jobs(jobs: DatasetJobs) -> None:
    proof = Proof("op_jobs")
    jobs.write_jsonl("a.jsonl", [{"t": f"a{i}", "n": i} for i in range(5)])
    jobs.write_jsonl("b.jsonl", [{"u": f"b{i}"} for i in range(5)])
    a = jobs.run("load", data_files="a.jsonl")
    b = jobs.run("load", data_files="b.jsonl")
    vertical = jobs.rows(jobs.run("concat", datasets=[a, a]))
    horizontal = jobs.rows(jobs.run("concat", datasets=[a, b], direction="horizontal"))
    proof(f"{D}.datasets", len(vertical) == 10 and vertical[5] == {"t": "a0", "n": 0})
    proof(f"{D}.direction", horizontal[0] == {"t": "a0", "n": 0, "u": "b0"})
    proof(f"{D}.dataset", jobs.rows(jobs.run("select", dataset=b, indices=[0])) == [{"u": "b0"}])
    proof(
        f"{D}.indices",
        jobs.rows(jobs.run("select", dataset=a, indices=[3, 0])) == [{"t": "a3", "n": 3}, {"t": "a0", "n": 0}],
    )
    columns = jobs.rows(jobs.run("select", dataset=a, axis="columns", columns=["n"]))
    proof(f"{D}.axis", columns == [{"n": i} for i in range(5)])
    proof(f"{D}.columns", jobs.rows(jobs.run("select", dataset=a, axis="columns", columns=["t"]))[0] == {"t": "a0"})
    proof(f"{D}.condition", [r["n"] for r in jobs.rows(jobs.run("filter", dataset=a, condition="n >= 3"))] == [3, 4])

    def where(tree: dict[str, Any]) -> list[int]:
        return [r["n"] for r in jobs.rows(jobs.run("filter", dataset=a, where=tree))]

    leaf = where({"column": "t", "operator": "ends-with", "value": "3"})
    proof(f"{D}.where", leaf == [3])
    for name in ("column", "operator", "value"):
        proof(f"{D}.where.{name}", leaf == [3])
    gte1, lt3 = {"column": "n", "operator": "gte", "value": 1}, {"column": "n", "operator": "lt", "value": 3}
    proof(f"{D}.where.all", where({"all": [gte1, lt3]}) == [1, 2])
    proof(f"{D}.where.any", where({"any": [{"not": gte1}, {"column": "n", "operator": "eq", "value": 4}]}) == [0, 4])
    proof(f"{D}.where.not_", where({"not": gte1}) == [0])
    mapped = jobs.rows(jobs.run("map", dataset=a, template="{t}-{n}", output_column="joined", remove_columns=["n"]))
    proof(f"{D}.template", mapped[1]["joined"] == "a1-1")
    proof(f"{D}.output_column", set(mapped[0]) == {"t", "joined"})
    proof(f"{D}.remove_columns", "n" not in mapped[0])
    # The job's method is the component's when the job names none.
    from runner.main import run_job

    spec = jobs.spec("", dataset=a, indices=[4])
    spec.config["method"] = "select"
    proof(f"{D}.method", jobs.rows(run_job(spec, jobs.events.append)) == [{"t": "a4", "n": 4}])
    proof.done()


# --- model (inference) jobs -------------------------------------------------------------


def _model_cfg(**fields: Any):
    from compose.schema.components import ModelComponent

    return ModelComponent(id="m", **{"task": "text-generation", "model": "./m", "prompt": "x", **fields})


def _answer(tmp_path: Path, model_dir: Path, **fields: Any) -> tuple[Any, list[dict[str, Any]]]:
    from tests.runner.inference.conftest import run_model

    return run_model(
        tmp_path,
        **{
            "task": "text-generation",
            "model": str(model_dir),
            "prompt": "Question: two",
            "max_output_length": 6,
            **fields,
        },
    )


def test_model_validation() -> None:
    from compose.loader import parse

    proof = Proof("model_validation")
    result = parse(
        textwrap.dedent("""\
        components:
          - id: broken
            type: modle
          - id: answer
            type: model
            task: text-generation
            model: ./m
            prompt: hi
            peft_adapters:
              - {type: dora, model: ./a}
        workflows:
          - id: w
            jobs:
              - {id: a, component: answr}
        """)
    )
    messages = [p.message for p in result.errors]
    proof(f"{M}.id", any("no component `answr` (did you mean `answer`?)" in m for m in messages))
    proof(f"{M}.type", any("not 'modle' (did you mean model?)" in m for m in messages))
    proof(
        f"{M}.peft_adapters.type",
        any(
            "'lora'" in m and p.path == "components[1].peft_adapters[0].type"
            for p, m in zip(result.errors, messages, strict=True)
        ),
    )
    proof.done()


def test_model_run(tmp_path: Path, tiny_causal_lm_dir: Path, tiny_classifier_dir: Path) -> None:
    from runner.inference.loading import load
    from tests.fixtures.training import save_dataset

    proof = Proof("model_run")
    greedy, _ = _answer(tmp_path, tiny_causal_lm_dir)
    text = greedy["generated_text"]
    proof(f"{M}.model", isinstance(text, str) and len(text) > 0)
    proof(f"{M}.prompt", _answer(tmp_path, tiny_causal_lm_dir, prompt="Something else entirely")[0] != greedy)
    as_object, _ = _answer(tmp_path, tiny_causal_lm_dir, model={"provider": "local", "path": str(tiny_causal_lm_dir)})
    proof(f"{M}.model.provider", as_object == greedy)
    proof(f"{M}.model.path", as_object == greedy)
    chat, _ = _answer(
        tmp_path, tiny_causal_lm_dir, task="chat-completion", prompt=None, messages=[{"role": "user", "content": "two"}]
    )
    proof(f"{M}.messages", chat["message"]["role"] == "assistant")
    label, _ = _answer(
        tmp_path, tiny_classifier_dir, task="text-classification", prompt=None, text="great", max_output_length=1024
    )
    proof(f"{M}.text", set(label) == {"label", "score", "scores"})
    proof(f"{M}.task", "generated_text" in greedy and "message" in chat and "label" in label)
    ref = save_dataset(tmp_path / "storage", [{"q": "a"}, {"q": "b"}, {"q": "c"}])
    rows, seen = _answer(tmp_path, tiny_causal_lm_dir, prompt="Question: {q}", dataset=ref, batch_size=2)
    proof(f"{M}.dataset", rows["num_rows"] == 3 and all("response" in r for r in rows["preview"]))
    proof(f"{M}.batch_size", [e["current"] for e in seen if e["type"] == "progress"] == [2, 3])
    _, cut = _answer(tmp_path, tiny_causal_lm_dir, prompt="one two three four five six", max_seq_length=3)
    proof(
        f"{M}.max_seq_length",
        any(e["type"] == "log" and "longer than max_seq_length (3 tokens)" in e["message"] for e in cut),
    )
    short, _ = _answer(tmp_path, tiny_causal_lm_dir, max_output_length=1)
    proof(f"{M}.max_output_length", len(short["generated_text"]) < len(text))
    several, _ = _answer(tmp_path, tiny_causal_lm_dir, num_return_sequences=2, num_beams=2)
    proof(f"{M}.num_return_sequences", len(several["generated_text"]) == 2)
    stop = text[len(text) // 2 :][:1]
    stopped, _ = _answer(tmp_path, tiny_causal_lm_dir, stop_sequences=[stop])
    proof(f"{M}.stop_sequences", stopped["generated_text"] == text[: text.find(stop)])
    loaded = load(
        _model_cfg(model=str(tiny_causal_lm_dir), precision="bfloat16", device="cpu"), lambda p: Path(p), None
    )
    proof(f"{M}.precision", str(loaded.model.dtype) == "torch.bfloat16")
    proof(f"{M}.device", loaded.device == "cpu" and loaded.model.device.type == "cpu")
    proof.done()


def test_model_adapters(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from compose.loader import parse

    proof = Proof("model_adapters")
    # A random (untrained) adapter is enough to change what greedy decoding says.
    adapter = tmp_path / "adapter"
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir),
        LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    model.save_pretrained(adapter)
    base, _ = _answer(tmp_path, tiny_causal_lm_dir)
    full, seen = _answer(tmp_path, tiny_causal_lm_dir, peft_adapters=[{"name": "mine", "model": str(adapter)}])
    proof(f"{M}.peft_adapters", full != base)
    proof(f"{M}.peft_adapters.model", full != base)
    zero, _ = _answer(tmp_path, tiny_causal_lm_dir, peft_adapters=[{"model": str(adapter), "weight": 0}])
    proof(f"{M}.peft_adapters.weight", zero == base and full != base)
    twice = parse(
        "components:\n  - {id: g, type: model, task: text-generation, model: ./m, prompt: x, "
        "peft_adapters: [{name: a, model: ./x}, {name: a, model: ./y}]}\n"
    )
    proof(
        f"{M}.peft_adapters.name",
        any("adapter name a is used twice" in p.message for p in twice.errors)
        and any(e["type"] == "log" and "with adapters mine" in e["message"] for e in seen),
    )
    proof.done()


def test_model_generation_args() -> None:
    from compose.loader import parse
    from runner.inference.generate import generation_kwargs

    proof = Proof("model_generation_args")
    sampled = generation_kwargs(_model_cfg(do_sample=True, temperature=0.3, top_p=0.5, top_k=7))
    greedy = generation_kwargs(_model_cfg(temperature=0.3))
    proof(f"{M}.do_sample", sampled["do_sample"] is True and greedy["do_sample"] is False)
    warned = parse(
        "components:\n  - {id: g, type: model, task: text-generation, model: ./m, prompt: x, "
        "temperature: 0.3, top_p: 0.5, top_k: 7}\n"
    ).warnings
    for name, value in (("temperature", 0.3), ("top_p", 0.5), ("top_k", 7)):
        proof(
            f"{M}.{name}",
            sampled[name] == value
            and greedy[name] is None
            and any(p.path == f"components[0].{name}" and "without do_sample: true" in p.message for p in warned),
        )
    proof(f"{M}.num_beams", generation_kwargs(_model_cfg(num_beams=3))["num_beams"] == 3)
    proof.done()


def test_model_quantization(tmp_path: Path) -> None:
    import torch

    from runner.inference.loading import load, quantization_config

    proof = Proof("model_quantization")
    built = (
        quantization_config(_model_cfg()) is None
        and quantization_config(_model_cfg(quantization="nf4")).bnb_4bit_quant_type == "nf4"
        and quantization_config(_model_cfg(quantization="fp4")).bnb_4bit_quant_type == "fp4"
        and quantization_config(_model_cfg(quantization="int4")).bnb_4bit_quant_type == "fp4"
        and quantization_config(_model_cfg(quantization="int8")).load_in_8bit
    )
    if torch.cuda.is_available():
        proof(f"{M}.quantization", built)
    else:
        with pytest.raises(Exception, match="quantization: nf4 needs a CUDA GPU"):
            load(_model_cfg(quantization="nf4"), lambda p: tmp_path / p, None)
        proof(f"{M}.quantization", built)
    proof.done()


def test_model_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_causal_lm_dir: Path) -> None:
    import shutil

    from compose.jobspec import JobFailed
    from compose.loader import parse
    from compose.schema.components import ModelSource
    from runner.inference.loading import load, source_of

    proof = Proof("model_source")
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(JobFailed) as caught:
        source_of(ModelSource(provider="huggingface", repository="someone/not-cached"), "model", lambda p: tmp_path / p)
    proof(
        f"{M}.model.repository",
        "'someone/not-cached' is not a local folder" in str(caught.value) and "model.repository" in str(caught.value),
    )
    local_revision = parse(
        "components:\n  - {id: g, type: model, task: text-generation, prompt: x, "
        "model: {provider: local, path: ./m, revision: v1}}\n"
    )
    # A hub id in the local cache (no network): its main revision loads, another is looked for.
    snapshot = tmp_path / "hf" / "hub" / "models--someone--cached" / "snapshots" / ("a" * 40)
    shutil.copytree(tiny_causal_lm_dir, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("a" * 40)
    cached = dict(
        task="text-generation",
        model={"provider": "huggingface", "repository": "someone/cached"},
        prompt="x",
        device="cpu",
    )
    found = load(_model_cfg(**cached), lambda p: tmp_path / p, None)
    cached["model"]["revision"] = "v1"
    with pytest.raises(JobFailed) as other:
        load(_model_cfg(**cached), lambda p: tmp_path / p, None)
    proof(
        f"{M}.model.revision",
        found.model is not None
        and "at revision v1" in str(other.value)
        and any("repository and revision are for provider: huggingface" in p.message for p in local_revision.errors),
    )
    proof.done()
