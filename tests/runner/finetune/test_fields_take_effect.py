"""Trainer settings that used to run as if absent: fp16 on CPU, LOMO's gradient norm,
``lm_head`` among the LoRA targets, the tokenizer files of the final model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.finetune import args as trainer_args
from tests.fixtures import data
from tests.fixtures.training import losses, metrics, run_trainer, trainer_spec

pytestmark = pytest.mark.slow

STEPS = dict(
    max_steps=3,
    per_device_train_batch_size=2,
    logging_steps=1,
    save_steps=None,
    max_seq_length=32,
    learning_rate=1e-3,
    text_column="text",
)
CPU = trainer_args.Hardware(cuda=False, bf16_supported=True)
ON_CPU = not trainer_args.Hardware.detect().cuda


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def run(tmp_path: Path, model_dir: Path, name: str, **fields):
    folder = tmp_path / name
    folder.mkdir()
    output, seen = run_trainer(trainer_spec(folder, model_dir, data.text_rows(8), **{**STEPS, **fields}))
    return Path(output["output_dir"]), seen


@pytest.mark.skipif(not ON_CPU, reason="checks fp16 on a machine without CUDA; a GPU machine trains fp16 on the GPU")
def test_fp16_on_cpu_trains_under_float16_autocast(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    plain_out, plain = run(tmp_path, tiny_causal_lm_dir, "fp32")
    fp16_out, fp16 = run(tmp_path, tiny_causal_lm_dir, "fp16", fp16=True)
    assert any("float16 autocast on CPU" in e["message"] for e in fp16 if e["type"] == "log")
    # Different arithmetic, same training: close to float32 but not the same numbers.
    plain_losses, fp16_losses = [loss for _, loss in losses(plain)], [loss for _, loss in losses(fp16)]
    assert fp16_losses != plain_losses
    assert fp16_losses == pytest.approx(plain_losses, rel=1e-2)
    before, after = weights(plain_out), weights(fp16_out)
    assert any(not before[name].equal(after[name]) for name in before)
    # The gradient scaler's scale is not in the reported norm: it is the unscaled gradient's.
    plain_norms = [e["values"]["grad_norm"] for e in metrics(plain)]
    fp16_norms = [e["values"]["grad_norm"] for e in metrics(fp16)]
    assert fp16_norms == pytest.approx(plain_norms, rel=1e-2)


def test_lomo_with_fp16_on_cpu_is_refused_naming_bf16() -> None:
    from compose.schema.components import TrainerComponent

    cfg = TrainerComponent(id="t", task="sft", optimizer="lomo", fp16=True)
    with pytest.raises(Exception, match="fp16: lomo cannot train under fp16 on CPU.*use bf16: true"):
        trainer_args.check_precision(cfg, CPU)
    trainer_args.check_precision(TrainerComponent(id="t", task="sft", optimizer="lomo", bf16=True), CPU)


def test_fp16_without_cpu_float16_autocast_is_refused(monkeypatch) -> None:
    from compose.schema.components import TrainerComponent

    monkeypatch.setattr(trainer_args, "cpu_fp16_supported", lambda: False)
    with pytest.raises(Exception, match="fp16: this torch has no float16 autocast on CPU.*use bf16: true"):
        trainer_args.check_precision(TrainerComponent(id="t", task="sft", fp16=True), CPU)
    trainer_args.check_precision(
        TrainerComponent(id="t", task="sft", fp16=True), trainer_args.Hardware(cuda=True, bf16_supported=True)
    )


def test_lomo_reports_the_gradient_norm_it_applies(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    _, lomo = run(tmp_path, tiny_causal_lm_dir, "lomo", optimizer="lomo")
    _, adamw = run(tmp_path, tiny_causal_lm_dir, "adamw", max_steps=1)
    norms = [e["values"]["grad_norm"] for e in metrics(lomo)]
    assert len(norms) == 3 and all(norm > 0 for norm in norms)
    # The first step's gradient is taken at the same starting weights as AdamW's.
    assert norms[0] == pytest.approx(metrics(adamw)[0]["values"]["grad_norm"], rel=1e-4)


def test_lm_head_among_lora_targets_is_trained_in_full(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from safetensors.torch import load_file

    out, seen = run(
        tmp_path,
        tiny_causal_lm_dir,
        "lora",
        peft_adapter="lora",
        lora_r=4,
        lora_target_modules=["q_proj", "v_proj", "lm_head"],
    )
    config = json.loads((out / "adapter_config.json").read_text())
    assert sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    assert config["modules_to_save"] == ["lm_head"]
    adapter = load_file(out / "adapter_model.safetensors")
    [head] = [name for name in adapter if "lm_head" in name]
    base = weights(tiny_causal_lm_dir)["lm_head.weight"]
    assert adapter[head].shape == base.shape and not adapter[head].equal(base)
    assert any(name for name in adapter if "lora_A" in name)


def test_lm_head_alone_is_refused_before_training(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    with pytest.raises(ValueError, match="lm_head alone leaves LoRA nothing to adapt"):
        trainer_spec(
            tmp_path,
            tiny_causal_lm_dir,
            data.text_rows(4),
            peft_adapter="lora",
            lora_target_modules=["lm_head"],
            **STEPS,
        )


def test_the_final_folder_holds_the_tokenizer_with_its_special_tokens(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    from transformers import AutoTokenizer

    out, _ = run(tmp_path, tiny_causal_lm_dir, "tokenizer", max_steps=1)
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"} <= {
        p.name for p in out.iterdir()
    }
    # transformers 5 writes no special_tokens_map.json (docs/training.md, "Output files"):
    # the special tokens are in tokenizer_config.json and reload from there.
    assert not (out / "special_tokens_map.json").exists()
    saved = json.loads((out / "tokenizer_config.json").read_text())
    assert (saved["bos_token"], saved["eos_token"], saved["pad_token"], saved["unk_token"]) == (
        "<s>",
        "</s>",
        "<pad>",
        "<unk>",
    )
    reloaded, base = AutoTokenizer.from_pretrained(out), AutoTokenizer.from_pretrained(tiny_causal_lm_dir)
    assert reloaded.special_tokens_map == base.special_tokens_map
    assert "special_tokens_map.json" in Path("docs/training.md").read_text()
