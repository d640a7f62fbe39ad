"""Classification jobs: labels from the data, accuracy and macro F1 at each eval."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures import data
from tests.fixtures.training import metrics, run_trainer, trainer_spec

pytestmark = pytest.mark.slow

FAST = dict(max_steps=4, per_device_train_batch_size=4, logging_steps=2, eval_steps=2, save_steps=None,
            learning_rate=1e-3)


def test_string_labels_are_named_in_the_saved_model(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    spec = trainer_spec(tmp_path, tiny_classifier_dir, data.classification_rows(16), task="classification",
                        eval_rows=data.classification_rows(8), **FAST)
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

    rows = [{"premise": r["text"], "hypothesis": "it is good", "y": r["label"]}
            for r in data.classification_rows(16, int_labels=True)]
    spec = trainer_spec(tmp_path, tiny_classifier_dir, rows, task="classification", eval_rows=rows[:4],
                        text_column="premise", text_pair_column="hypothesis", label_column="y", **FAST)
    output, _ = run_trainer(spec)
    assert output["global_step"] == 4
    config = AutoConfig.from_pretrained(tmp_path / "out")
    assert config.num_labels == 2 and config.id2label == {0: "0", 1: "1"}


def test_learns_a_separable_task(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    rows = data.classification_rows(16)
    spec = trainer_spec(tmp_path, tiny_classifier_dir, rows, task="classification", eval_rows=rows[:8],
                        max_steps=40, per_device_train_batch_size=8, logging_steps=10, eval_steps=40,
                        save_steps=None, learning_rate=3e-3)
    output, _ = run_trainer(spec)
    assert output["metrics"]["accuracy"] == 1.0 and output["metrics"]["f1"] == 1.0


def test_lora_classifier_saves_an_adapter(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    spec = trainer_spec(tmp_path, tiny_classifier_dir, data.classification_rows(8), task="classification",
                        peft_adapter="lora", lora_r=4, **FAST)
    output, _ = run_trainer(spec)
    assert output["adapter"] is True
    adapter = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert sorted(adapter["target_modules"]) == ["key", "query", "value"]
    assert adapter["r"] == 4
    assert "classifier" in adapter["modules_to_save"]  # the new head is trained and saved with the adapter


def test_unknown_label_column_names_the_field(tmp_path: Path, tiny_classifier_dir: Path) -> None:
    from compose.jobspec import JobFailed

    spec = trainer_spec(tmp_path, tiny_classifier_dir, data.classification_rows(4), task="classification",
                        label_column="sentiment", **FAST)
    with pytest.raises(JobFailed, match="label_column: column 'sentiment' is not in the training data set"):
        run_trainer(spec)
