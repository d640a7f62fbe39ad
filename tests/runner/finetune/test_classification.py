"""Classification jobs: labels from the data, accuracy and macro F1 at each eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import data
from tests.fixtures.training import metrics, run_trainer, trainer_spec

pytestmark = pytest.mark.slow

FAST = dict(
    max_steps=4, per_device_train_batch_size=4, logging_steps=2, eval_steps=2, save_steps=None, learning_rate=1e-3
)


def test_string_labels_are_named_in_the_saved_model(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    spec = trainer_spec(
        tmp_path,
        tiny_classifier_dir,
        data.classification_rows(16),
        task="classification",
        eval_rows=data.classification_rows(8),
        **FAST,
    )
    output, seen = run_trainer(spec)

    evals = metrics(seen, "eval")
    assert [e["step"] for e in evals] == [2, 4]
    for event in evals:
        assert {"eval_loss", "accuracy", "f1"} <= set(event["values"])
        assert 0.0 <= event["values"]["accuracy"] <= 1.0 and 0.0 <= event["values"]["f1"] <= 1.0
        assert "perplexity" not in event["values"]
    assert {"train_loss", "eval_loss", "accuracy", "f1"} <= set(output["metrics"])

    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "out")
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}


def test_integer_labels_and_a_text_pair(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    from transformers import AutoConfig

    rows = [
        {"premise": r["text"], "hypothesis": "it is good", "y": r["label"]}
        for r in data.classification_rows(16, int_labels=True)
    ]
    spec = trainer_spec(
        tmp_path,
        tiny_classifier_dir,
        rows,
        task="classification",
        eval_rows=rows[:4],
        text_column="premise",
        text_pair_column="hypothesis",
        label_column="y",
        **FAST,
    )
    output, _ = run_trainer(spec)
    assert output["global_step"] == 4
    config = AutoConfig.from_pretrained(tmp_path / "out")
    assert config.num_labels == 2 and config.id2label == {0: "0", 1: "1"}


def test_the_text_pair_is_encoded_as_the_second_segment(tiny_classifier_dir: Path) -> None:
    from datasets import Dataset
    from transformers import AutoTokenizer

    from compose.schema.components import TrainerComponent
    from runner.finetune.data import classification_rows

    tokenizer = AutoTokenizer.from_pretrained(tiny_classifier_dir)
    rows = Dataset.from_list([{"premise": "great acting", "hypothesis": "it is good", "y": "positive"}])
    cfg = TrainerComponent(
        id="t", task="classification", text_column="premise", text_pair_column="hypothesis", label_column="y"
    )
    encoded = classification_rows(rows, cfg, tokenizer, {"positive": 0})[0]
    assert encoded["input_ids"] == tokenizer("great acting", "it is good")["input_ids"]
    assert encoded["input_ids"] != tokenizer("great acting")["input_ids"]
    assert encoded["labels"] == 0


def test_learns_a_separable_task(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    rows = data.classification_rows(16)
    spec = trainer_spec(
        tmp_path,
        tiny_classifier_dir,
        rows,
        task="classification",
        eval_rows=rows[:8],
        max_steps=40,
        per_device_train_batch_size=8,
        logging_steps=10,
        eval_steps=40,
        save_steps=None,
        learning_rate=3e-3,
    )
    output, _ = run_trainer(spec)
    assert output["metrics"]["accuracy"] == 1.0 and output["metrics"]["f1"] == 1.0


THREE_CLASSES = [
    {"text": text, "label": label}
    for text, label in [
        ("I loved this movie, it was great", "positive"),
        ("terrible film, I hated it", "negative"),
        ("it was a film with actors in it", "neutral"),
        ("great acting and a great story", "positive"),
        ("boring and terrible", "negative"),
        ("a movie of average length", "neutral"),
    ]
] * 2


def test_lora_classifier_reloads_with_its_label_names(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    """An adapter folder has no model config: labels.json carries the names, and the
    documented two-step reload (base with the labels, then the adapter) gives back the head."""
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    spec = trainer_spec(
        tmp_path, tiny_classifier_dir, THREE_CLASSES, task="classification", peft_adapter="lora", lora_r=4, **FAST
    )
    output, _ = run_trainer(spec)
    out = tmp_path / "out"
    assert output["adapter"] is True and output["labels"] == ["negative", "neutral", "positive"]
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert sorted(adapter["target_modules"]) == ["key", "query", "value"] and adapter["r"] == 4
    assert "classifier" in adapter["modules_to_save"]  # the new head is trained and saved with the adapter

    names = json.loads((out / "labels.json").read_text())["labels"]
    assert names == ["negative", "neutral", "positive"]
    tokenizer = AutoTokenizer.from_pretrained(out)
    base = AutoModelForSequenceClassification.from_pretrained(  # as docs/training.md shows it
        tiny_classifier_dir,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)},
        ignore_mismatched_sizes=True,
    )
    base.config.pad_token_id = tokenizer.pad_token_id
    model = PeftModel.from_pretrained(base, out)
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    saved = {
        name: tensor
        for name, tensor in load_file(out / "adapter_model.safetensors").items()
        if "classifier" in name and name.endswith("weight")
    }
    assert saved and all(tensor.shape[0] == 3 for tensor in saved.values())
    head = model.base_model.model.classifier.modules_to_save["default"].weight
    assert any(torch.equal(head, tensor) for tensor in saved.values())


def test_f1_is_the_macro_average_over_classes() -> None:
    """Macro F1 weighs each class alike: a model that ignores a rare class is not rewarded."""
    import numpy as np
    from transformers import EvalPrediction

    from runner.finetune.trainers import classification_metrics

    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 0, 0, 0, 1, 1, 0, 0])  # class 2 never predicted
    logits = np.eye(3)[predicted]
    found = classification_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert found["accuracy"] == 0.8
    # per class F1: 0.857, 1.0, 0.0 -> macro 0.619 (micro would be 0.8, weighted 0.686)
    assert round(found["f1"], 3) == 0.619


def test_unknown_label_column_names_the_field(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    from compose.jobspec import JobFailed

    spec = trainer_spec(
        tmp_path,
        tiny_classifier_dir,
        data.classification_rows(4),
        task="classification",
        label_column="sentiment",
        **FAST,
    )
    with pytest.raises(JobFailed, match="label_column: column 'sentiment' is not in the training data set"):
        run_trainer(spec)
