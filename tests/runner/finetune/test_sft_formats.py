"""The seed's four SFT layouts (§9.2.5), with and without packing and LoRA."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import data
from tests.fixtures.training import metrics, run_trainer, trainer_spec

pytestmark = pytest.mark.slow

FORMATS = {
    "text": (data.text_rows, dict(text_column="text")),
    "prompt-response": (data.prompt_response_rows, dict(prompt_column="prompt", response_column="response")),
    "instruction": (data.instruction_rows, dict(prompt_column="instruction", response_column="output")),
    "system-prompt-response": (
        data.system_prompt_response_rows,
        dict(prompt_column="prompt", response_column="response", system_column="system"),
    ),
}
LORA = dict(peft_adapter="lora", lora_r=4, lora_alpha=8, lora_dropout=0.0)


@pytest.mark.parametrize("variant", ["plain", "packing", "lora"])
@pytest.mark.parametrize("layout", list(FORMATS))
def test_layout_trains(tmp_path: Path, tiny_causal_lm_dir: Path, layout: str, variant: str) -> None:
    rows, columns = FORMATS[layout]
    extra = {"packing": True} if variant == "packing" else LORA if variant == "lora" else {}
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        rows(12),
        max_steps=2,
        per_device_train_batch_size=4,
        logging_steps=1,
        save_steps=None,
        max_seq_length=64,
        **columns,
        **extra,
    )
    output, seen = run_trainer(spec)
    assert output["global_step"] == 2
    assert output["adapter"] is (variant == "lora")
    assert all(e["values"]["loss"] > 0 and e["values"]["tokens_per_second"] > 0 for e in metrics(seen))
    out = tmp_path / "out"
    assert (out / ("adapter_model.safetensors" if variant == "lora" else "model.safetensors")).is_file()


def _trainer_for(tmp_path: Path, model_dir: Path, rows: list[dict], **fields):
    """The prepared SFTTrainer of a job, without training it."""
    from datasets import Dataset

    from runner.finetune import args as trainer_args
    from runner.finetune.job import parse_config
    from runner.finetune.model import ModelSource, load_tokenizer
    from runner.finetune.trainers import Inputs, build_sft

    spec = trainer_spec(tmp_path, model_dir, rows, **fields)
    cfg = parse_config(spec.config)
    source = ModelSource(str(model_dir), local=True)
    tokenizer = load_tokenizer(cfg, source, Path, None)
    inputs = Inputs(
        cfg=cfg,
        source=source,
        tokenizer=tokenizer,
        train=Dataset.from_list(rows),
        eval=None,
        output_dir=str(tmp_path / "out"),
        hw=trainer_args.Hardware(cuda=False, bf16_supported=True),
        token=None,
        callbacks=[],
    )
    return build_sft(inputs), tokenizer


def test_prompt_response_loss_covers_the_response_only(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    rows = data.system_prompt_response_rows(2)
    prepared, tokenizer = _trainer_for(
        tmp_path, tiny_causal_lm_dir, rows, prompt_column="prompt", response_column="response", system_column="system"
    )
    row = prepared.trainer.train_dataset[0]
    full = tokenizer.decode(row["input_ids"])
    trained = tokenizer.decode([t for t in row["labels"] if t != -100])
    # Rendered with the chat template: system and user turns, then the assistant's reply.
    assert full.startswith("<|system|>You are a helpful assistant<|end|>")
    assert "<|user|>What is two plus two?<|end|>" in full
    assert trained.startswith("Four.")
    assert "What is two plus two" not in trained and "helpful assistant" not in trained


def test_alpaca_input_joins_the_prompt(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    rows = data.instruction_rows(2)  # the second row has input "Be brief."
    prepared, tokenizer = _trainer_for(
        tmp_path, tiny_causal_lm_dir, rows, prompt_column="instruction", response_column="output"
    )
    first, second = (tokenizer.decode(prepared.trainer.train_dataset[i]["input_ids"]) for i in (0, 1))
    assert "Be brief." not in first
    assert "<|user|>Name the capital of France.\n\nBe brief.<|end|>" in second


def test_without_chat_template_prompt_response_is_plain_text(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    import shutil

    model_dir = tmp_path / "no-template"
    shutil.copytree(tiny_causal_lm_dir, model_dir)
    (model_dir / "chat_template.jinja").unlink()
    prepared, tokenizer = _trainer_for(
        tmp_path, model_dir, data.prompt_response_rows(2), prompt_column="prompt", response_column="response"
    )
    row = prepared.trainer.train_dataset[0]
    assert tokenizer.decode(row["input_ids"]).startswith("### Instruction:\nWhat is two plus two?")
    trained = tokenizer.decode([t for t in row["labels"] if t != -100])
    assert trained.startswith("Four.")
    assert any("no chat template" in note for note in prepared.notes)


def test_chat_template_from_a_file(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    template = tmp_path / "template.jinja"
    template.write_text(
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}[assistant] {% endif %}"
    )
    prepared, tokenizer = _trainer_for(
        tmp_path,
        tiny_causal_lm_dir,
        data.prompt_response_rows(2),
        prompt_column="prompt",
        response_column="response",
        chat_template=str(template),
    )
    assert tokenizer.decode(prepared.trainer.train_dataset[0]["input_ids"]).startswith(
        "[user] What is two plus two?\n[assistant] Four."
    )


def test_max_seq_length_truncates(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    rows = [{"text": "The quick brown fox jumps over the lazy dog. " * 20}]
    prepared, _ = _trainer_for(tmp_path, tiny_causal_lm_dir, rows, text_column="text", max_seq_length=16)
    assert len(prepared.trainer.train_dataset[0]["input_ids"]) == 16


def test_packing_joins_short_rows(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    rows = data.text_rows(12)
    prepared, _ = _trainer_for(tmp_path, tiny_causal_lm_dir, rows, text_column="text", packing=True, max_seq_length=64)
    packed = prepared.trainer.train_dataset
    assert len(packed) < len(rows)
    assert max(len(ids) for ids in packed["input_ids"]) <= 64
    assert sum(len(ids) for ids in packed["input_ids"]) > 64  # every row's tokens are still there
