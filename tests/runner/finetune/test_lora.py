"""LoRA settings reach the adapter: dropout, every bias mode, flat fields and the nested form."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.loader import load_compose
from compose.schema.components import TrainerComponent
from runner.finetune.model import ModelSource, apply_lora, load_model


def adapted(model_dir: Path, **fields):
    cfg = TrainerComponent.model_validate(
        {"id": "t", "task": "classification", "peft_adapter": "lora", "lora_r": 4, **fields}
    )
    return apply_lora(load_model(cfg, ModelSource(str(model_dir), local=True), None, num_labels=2), cfg)


def trainable_biases(model) -> set[str]:
    return {
        name
        for name, p in model.named_parameters()
        if p.requires_grad and name.endswith(".bias") and "classifier" not in name
    }


def test_lora_dropout_is_the_adapter_dropout(tiny_classifier_dir: Path) -> None:
    model = adapted(tiny_classifier_dir, lora_dropout=0.25)
    dropouts = [m.lora_dropout["default"] for m in model.modules() if hasattr(m, "lora_dropout")]
    assert dropouts and all(getattr(d, "p", None) == 0.25 for d in dropouts)
    no_dropout = adapted(tiny_classifier_dir, lora_dropout=0.0)
    assert all(
        type(m.lora_dropout["default"]).__name__ == "Identity"
        for m in no_dropout.modules()
        if hasattr(m, "lora_dropout")
    )


@pytest.mark.parametrize("bias", ["none", "all", "lora_only"])
def test_lora_bias_decides_which_biases_train(tiny_classifier_dir: Path, bias: str) -> None:
    model = adapted(tiny_classifier_dir, lora_bias=bias, lora_target_modules=["query", "value"])
    every_bias = {name for name, _ in model.named_parameters() if name.endswith(".bias") and "classifier" not in name}
    trained = trainable_biases(model)
    if bias == "none":
        assert trained == set()
    elif bias == "all":
        assert trained == every_bias
    else:  # only the biases of the adapted layers
        assert trained and all(".query." in n or ".value." in n for n in trained)
        assert trained < every_bias


def test_nested_lora_block_means_the_same_as_flat_fields(tiny_classifier_dir: Path) -> None:
    doc = load_compose("""
components:
  - id: trainer
    type: model-trainer
    task: classification
    lora: {rank: 4, alpha: 8, dropout: 0.25, bias: all, target_modules: [query, value]}
workflows:
  - id: w
    jobs:
      - id: train
        component: trainer
""")
    fields = doc.component("trainer").fields
    nested = TrainerComponent.model_validate({"id": "t", **fields})
    assert nested.effective_lora == {
        "r": 4,
        "alpha": 8,
        "dropout": 0.25,
        "bias": "all",
        "target_modules": ["query", "value"],
    }
    model = apply_lora(
        load_model(nested, ModelSource(str(tiny_classifier_dir), local=True), None, num_labels=2), nested
    )
    config = model.peft_config["default"]
    assert (config.r, config.lora_alpha, config.lora_dropout, config.bias) == (4, 8, 0.25, "all")
    assert trainable_biases(model) == trainable_biases(
        adapted(
            tiny_classifier_dir,
            lora_alpha=8,
            lora_dropout=0.25,
            lora_bias="all",
            lora_target_modules=["query", "value"],
        )
    )
