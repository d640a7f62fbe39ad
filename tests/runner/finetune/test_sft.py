"""SFT jobs: the seed's data layouts train, report metrics and leave a reloadable model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import data
from tests.fixtures.training import losses, metrics, run_trainer, trainer_spec

pytestmark = pytest.mark.slow

FAST = dict(max_steps=4, per_device_train_batch_size=4, logging_steps=1, save_steps=2, learning_rate=1e-3)


def test_text_column_trains_reports_and_saves(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.text_rows(),
        eval_rows=data.text_rows(4),
        text_column="text",
        eval_steps=2,
        **FAST,
    )
    output, seen = run_trainer(spec)

    out = tmp_path / "out"
    assert output["type"] == "model" and output["global_step"] == 4 and output["adapter"] is False
    assert output["output_dir"] == str(out.resolve())
    assert output["checkpoints"] == [str((out / "checkpoint-2").resolve()), str((out / "checkpoint-4").resolve())]
    assert {"train_loss", "eval_loss", "perplexity"} <= set(output["metrics"])

    train = metrics(seen)
    assert [e["step"] for e in train] == [1, 2, 3, 4]
    for event in train:
        assert set(event["values"]) == {
            "loss",
            "learning_rate",
            "grad_norm",
            "samples_per_second",
            "tokens_per_second",
            "epoch",
        }
        assert event["values"]["tokens_per_second"] > 0
    evals = metrics(seen, "eval")
    assert [e["step"] for e in evals] == [2, 4]
    assert evals[0]["values"]["perplexity"] == pytest.approx(2.718281828 ** evals[0]["values"]["eval_loss"])

    progress = [e for e in seen if e["type"] == "progress"]
    assert progress[-1]["current"] == 4 and progress[-1]["total"] == 4 and progress[-1]["unit"] == "steps"
    kinds = [(e["kind"], Path(e["path"]).name) for e in seen if e["type"] == "artifact"]
    assert ("checkpoint", "checkpoint-2") in kinds and ("model", "out") in kinds
    assert [e["status"] for e in seen if e["type"] == "status"] == ["running", "succeeded"]

    # The final model, its tokenizer and the run's record sit side by side and reload.
    model = AutoModelForCausalLM.from_pretrained(out)
    AutoTokenizer.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir)
    assert any((a != b).any() for a, b in zip(model.parameters(), base.parameters(), strict=True))
    config = json.loads((out / "compose-config.json").read_text())
    assert config["text_column"] == "text" and config["max_steps"] == 4
    assert {"torch", "transformers", "trl", "peft", "datasets", "python"} <= set(
        json.loads((out / "versions.json").read_text())
    )
    # TensorBoard reads the same numbers the metric events carried.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    [run] = (out / "runs").iterdir()
    board = EventAccumulator(str(run))
    board.Reload()
    assert [(e.step, e.value) for e in board.Scalars("train/loss")] == [
        (event["step"], pytest.approx(event["values"]["loss"])) for event in train
    ]
    assert [(e.step, e.value) for e in board.Scalars("eval/loss")] == [
        (event["step"], pytest.approx(event["values"]["eval_loss"])) for event in evals
    ]
    assert (out / "checkpoint-2" / "optimizer.pt").is_file()


def test_loss_falls_on_memorizable_data(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.text_rows(8),
        text_column="text",
        max_steps=30,
        per_device_train_batch_size=8,
        logging_steps=5,
        save_steps=None,
        learning_rate=3e-3,
    )
    _, seen = run_trainer(spec)
    values = [loss for _, loss in losses(seen)]
    assert values[-1] < values[0] * 0.6


def test_lora_adapter_reloads_onto_the_base_model(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.prompt_response_rows(8),
        prompt_column="prompt",
        response_column="response",
        peft_adapter="lora",
        lora_r=4,
        lora_alpha=8,
        lora_target_modules=["q_proj", "v_proj", "gate_proj"],
        lora_bias="lora_only",
        **FAST,
    )
    output, seen = run_trainer(spec)
    assert output["adapter"] is True
    assert any(e["type"] == "artifact" and e["kind"] == "adapter" for e in seen)
    out = tmp_path / "out"
    adapter_config = json.loads((out / "adapter_config.json").read_text())
    assert sorted(adapter_config["target_modules"]) == ["gate_proj", "q_proj", "v_proj"]
    assert adapter_config["bias"] == "lora_only" and adapter_config["r"] == 4 and adapter_config["lora_alpha"] == 8

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir), out)
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and any(torch.count_nonzero(p) > 0 for p in lora_b)  # B starts at zero; training moved it


def test_progress_reports_an_eta(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(8), text_column="text", **FAST)
    _, seen = run_trainer(spec)
    progress = [e for e in seen if e["type"] == "progress"]
    assert progress[0]["current"] == 0 and progress[0]["total"] == 4
    assert progress[-1]["eta_s"] == 0
    assert all(e["stage"] == "train" for e in progress)


def test_separate_tokenizer_and_inline_chat_template(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    import shutil

    from transformers import AutoTokenizer

    tokenizer_dir = tmp_path / "tokenizer"
    tokenizer_dir.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_causal_lm_dir / name, tokenizer_dir / name)
    # Marks this copy apart from the model folder's own tokenizer.
    config_path = tokenizer_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["model_max_length"] = 4321
    config_path.write_text(json.dumps(config))
    template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.prompt_response_rows(8),
        prompt_column="prompt",
        response_column="response",
        tokenizer="./tokenizer",
        chat_template=template,
        **FAST,
    )
    output, _ = run_trainer(spec)
    assert output["global_step"] == 4
    # The template used for training is saved with the model, so inference renders the same way.
    saved = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert saved.chat_template == template
    assert saved.model_max_length == 4321  # the tokenizer: folder's, not the model's


def test_epochs_batch_and_accumulation_set_the_step_count(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    # 8 rows, 2 per batch, 2 batches per optimizer step: 2 steps an epoch, 4 in two epochs.
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.text_rows(8),
        text_column="text",
        num_epochs=2,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=2,
        logging_steps=1,
        save_steps=None,
        warmup_steps=2,
        lr_scheduler_type="constant_with_warmup",
        learning_rate=1e-3,
    )
    output, seen = run_trainer(spec)
    assert output["global_step"] == 4
    train = metrics(seen)
    assert [e["values"]["epoch"] for e in train] == [0.5, 1.0, 1.5, 2.0]
    rates = [e["values"]["learning_rate"] for e in train]
    assert rates == pytest.approx([0.0, 5e-4, 1e-3, 1e-3])  # the rate each step used: warmup, then constant
    assert train[0]["values"]["samples_per_second"] > 0


def test_the_last_step_is_always_logged(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.text_rows(8),
        text_column="text",
        max_steps=3,
        logging_steps=10,
        save_steps=None,
        per_device_train_batch_size=4,
    )
    _, seen = run_trainer(spec)
    assert [e["step"] for e in metrics(seen)] == [3]


@pytest.mark.parametrize("lora", [False, True])
def test_gradient_checkpointing_recomputes_layers_in_backward(
    tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch, lora: bool
) -> None:
    """With checkpointing on, every decoder layer runs twice a step (once more during
    backward, instead of keeping its activations); off, once. Counted at each layer's MLP,
    since the layer's own forward is the checkpointing wrapper."""
    from transformers.models.llama.modeling_llama import LlamaMLP

    calls = {"n": 0}
    real_forward = LlamaMLP.forward

    def counting_forward(self, *args, **kwargs):
        calls["n"] += 1
        return real_forward(self, *args, **kwargs)

    monkeypatch.setattr(LlamaMLP, "forward", counting_forward)
    monkeypatch.setenv("COMPOSE_LIGER_KERNEL", "0")  # Liger (GPU) replaces the MLP's forward
    adapter = dict(peft_adapter="lora", lora_r=4) if lora else {}
    per_run = {}
    for checkpointing in (False, True):
        calls["n"] = 0
        spec = trainer_spec(
            tmp_path / str(checkpointing),
            tiny_causal_lm_dir,
            data.text_rows(4),
            text_column="text",
            max_steps=2,
            per_device_train_batch_size=2,
            logging_steps=1,
            save_steps=None,
            gradient_checkpointing=checkpointing,
            **adapter,
        )
        run_trainer(spec)
        per_run[checkpointing] = calls["n"]
    layers = 2
    assert per_run[False] == 2 * layers
    assert per_run[True] == 2 * 2 * layers
