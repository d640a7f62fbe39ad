"""QLoRA (§9.5.5): 4-bit nf4 / fp4 and 8-bit base weights with a LoRA adapter on top."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import data
from tests.fixtures.training import run_trainer, trainer_spec

pytestmark = pytest.mark.slow

FAST = dict(
    max_steps=2,
    per_device_train_batch_size=4,
    logging_steps=1,
    save_steps=None,
    max_seq_length=32,
    text_column="text",
    peft_adapter="lora",
    lora_r=4,
    learning_rate=2e-4,
)


@pytest.mark.parametrize(
    "quantization,details",
    [
        ("nf4", dict(bnb_4bit_compute_dtype="bfloat16", bnb_4bit_use_double_quant=True)),
        ("int4", {}),
        ("int8", {}),
    ],
)
def test_quantized_base_trains_an_adapter(
    tmp_path: Path, tiny_causal_lm_dir: Path, quantization: str, details: dict
) -> None:
    spec = trainer_spec(tmp_path, tiny_causal_lm_dir, data.text_rows(8), quantization=quantization, **details, **FAST)
    output, _ = run_trainer(spec)
    assert output["adapter"] is True and output["global_step"] == 2
    out = tmp_path / "out"
    assert (out / "adapter_model.safetensors").is_file()
    assert not (out / "model.safetensors").exists()
    assert json.loads((out / "compose-config.json").read_text())["quantization"] == quantization
    from safetensors.torch import load_file

    lora_b = [t for name, t in load_file(out / "adapter_model.safetensors").items() if "lora_B" in name]
    assert lora_b and any(t.count_nonzero() > 0 for t in lora_b)  # B starts at zero: the adapter trained


def test_quantization_config_follows_the_fields() -> None:
    import torch

    from compose.schema.components import TrainerComponent
    from runner.finetune.model import quantization_config

    def cfg(**fields):
        return TrainerComponent(id="t", task="sft", peft_adapter="lora", **fields)

    nf4 = quantization_config(
        cfg(quantization="nf4", bnb_4bit_compute_dtype="bfloat16", bnb_4bit_use_double_quant=True)
    )
    assert nf4.load_in_4bit and nf4.bnb_4bit_quant_type == "nf4"
    assert nf4.bnb_4bit_compute_dtype == torch.bfloat16 and nf4.bnb_4bit_use_double_quant
    int4 = quantization_config(cfg(quantization="int4"))
    assert int4.bnb_4bit_quant_type == "fp4" and not int4.bnb_4bit_use_double_quant
    assert int4.bnb_4bit_compute_dtype == torch.float32
    assert quantization_config(cfg(quantization="int8")).load_in_8bit
    assert quantization_config(cfg()) is None


def test_qlora_keeps_unquantized_weights_in_the_stored_dtype(tmp_path: Path, tiny_causal_lm_dir: Path) -> None:
    """Norms, embeddings and the output layer stay as stored (bfloat16 here), as in TRL's
    own QLoRA path; an upcast to float32 cost 9 GiB and 13% of the speed on a GPU."""
    import torch
    from transformers import AutoModelForCausalLM

    from compose.schema.components import TrainerComponent
    from runner.finetune.model import ModelSource, apply_lora, load_model

    stored = tmp_path / "bf16-model"
    AutoModelForCausalLM.from_pretrained(tiny_causal_lm_dir, dtype=torch.float32).to(torch.bfloat16).save_pretrained(
        stored
    )
    cfg = TrainerComponent(
        id="t",
        task="sft",
        peft_adapter="lora",
        lora_r=4,
        quantization="nf4",
        bnb_4bit_compute_dtype="bfloat16",
        bf16=True,
    )
    model = apply_lora(load_model(cfg, ModelSource(str(stored), local=True), None), cfg)

    quantized = {name for name, p in model.named_parameters() if p.dtype == torch.uint8}
    assert quantized, "nf4 should quantize the linear layers"
    frozen_dtypes = {
        name: p.dtype for name, p in model.named_parameters() if not p.requires_grad and name not in quantized
    }
    assert frozen_dtypes and set(frozen_dtypes.values()) == {torch.bfloat16}, frozen_dtypes
    assert any("embed_tokens" in name for name in frozen_dtypes)
    assert any("norm" in name for name in frozen_dtypes)
