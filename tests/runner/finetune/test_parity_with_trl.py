"""The runner trains the same model TRL's own SFTTrainer would build from the same settings.

The benchmarks compare the two on speed and memory; these tests pin the structure behind
that comparison: every parameter with the same dtype, shape and trainable flag. (That
gradient checkpointing really recomputes is pinned in test_sft.py.)
A difference here (say, an upcast of the frozen weights) is
a difference in memory and speed on a GPU, where the tests cannot measure it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import data
from tests.fixtures.training import run_trainer, trainer_spec

pytestmark = pytest.mark.slow

LORA = dict(
    peft_adapter="lora",
    lora_r=4,
    lora_alpha=8,
    lora_dropout=0.05,
    lora_target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
)


def runner_model(tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, **fields: Any) -> Any:
    """The model of the trainer the runner builds (and trains for one step)."""
    from runner.finetune import trainers

    built: list[Any] = []
    build_sft = trainers.build_sft

    def keep(inputs: trainers.Inputs) -> trainers.Prepared:
        prepared = build_sft(inputs)
        built.append(prepared.trainer.model)
        return prepared

    monkeypatch.setattr(trainers, "build_sft", keep)
    monkeypatch.setenv("COMPOSE_LIGER_KERNEL", "0")  # on a GPU machine: no kernels the plain side lacks
    spec = trainer_spec(
        tmp_path,
        model_dir,
        data.text_rows(8),
        text_column="text",
        max_steps=1,
        per_device_train_batch_size=4,
        max_seq_length=32,
        save_steps=None,
        logging_steps=1,
        **fields,
    )
    run_trainer(spec)
    return built[0]


def plain_trl_model(tmp_path: Path, model_dir: Path, *, quantization: str | None = None, bf16: bool = False) -> Any:
    """What a hand-written TRL script builds from the same settings."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig
    from trl import SFTConfig, SFTTrainer

    kwargs: dict[str, Any] = {"dtype": "auto"}
    if quantization == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if bf16 else torch.float32,
        )
    model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    args = SFTConfig(
        output_dir=str(tmp_path / "plain"),
        max_steps=1,
        per_device_train_batch_size=4,
        max_length=32,
        bf16=bf16,
        use_cpu=True,
        gradient_checkpointing=False,
        report_to="none",
        save_strategy="no",
    )
    peft_config = LoraConfig(
        r=LORA["lora_r"],
        lora_alpha=LORA["lora_alpha"],
        lora_dropout=LORA["lora_dropout"],
        target_modules=LORA["lora_target_modules"],
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(data.text_rows(8)),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
        peft_config=peft_config,
    )
    return trainer.model


def layout(model: Any) -> dict[str, tuple[str, tuple[int, ...], bool]]:
    return {name: (str(p.dtype), tuple(p.shape), p.requires_grad) for name, p in model.named_parameters()}


@pytest.fixture(scope="module")
def bf16_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_causal_lm_dir: Path) -> Path:
    """The tiny model stored in bfloat16, as most hub checkpoints are."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("bf16-model")
    AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir, dtype=torch.float32).to(torch.bfloat16).save_pretrained(
        folder
    )
    AutoTokenizer.from_pretrained(tiny_causal_lm_dir).save_pretrained(folder)
    return folder


def test_lora_model_matches_trl(tmp_path: Path, tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = runner_model(tmp_path / "ours", tiny_causal_lm_dir, monkeypatch, **LORA)
    plain = plain_trl_model(tmp_path, tiny_causal_lm_dir)
    assert layout(ours) == layout(plain)
    assert sum(p.requires_grad for p in ours.parameters()) > 0


def test_qlora_bf16_model_matches_trl(tmp_path: Path, bf16_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = runner_model(
        tmp_path / "ours",
        bf16_model_dir,
        monkeypatch,
        quantization="nf4",
        bnb_4bit_compute_dtype="bfloat16",
        bnb_4bit_use_double_quant=True,
        bf16=True,
        **LORA,
    )
    plain = plain_trl_model(tmp_path, bf16_model_dir, quantization="nf4", bf16=True)
    ours_layout, plain_layout = layout(ours), layout(plain)
    assert ours_layout == plain_layout, {
        k: (v, plain_layout.get(k)) for k, v in ours_layout.items() if plain_layout.get(k) != v
    }
    assert any(dtype == "torch.uint8" for dtype, _, _ in ours_layout.values())  # the base really is 4-bit
