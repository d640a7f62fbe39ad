"""Output files and checkpoint lookup, without training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.jobspec import JobFailed, JobSpec
from runner.context import RunContext
from runner.finetune import outputs


def _checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("{}")
    return folder


def test_latest_is_the_highest_step_not_the_last_name(tmp_path: Path) -> None:
    for step in (9, 10, 2):
        _checkpoint(tmp_path / f"checkpoint-{step}")
    (tmp_path / "checkpoint-final").mkdir()
    (tmp_path / "runs").mkdir()
    assert [p.name for p in outputs.checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-9", "checkpoint-10"]
    assert outputs.resolve_resume("latest", tmp_path, Path).name == "checkpoint-10"
    assert outputs.resolve_resume("latest", tmp_path / "missing", Path) is None
    assert outputs.resolve_resume(None, tmp_path, Path) is None


def test_a_folder_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    with pytest.raises(JobFailed, match="is not a training checkpoint"):
        outputs.resolve_resume("model", tmp_path, lambda p: tmp_path / p)
    found = _checkpoint(tmp_path / "out" / "checkpoint-3")
    assert outputs.resolve_resume("out/checkpoint-3", tmp_path, lambda p: tmp_path / p) == found


def test_run_files_redact_secrets_and_list_versions(tmp_path: Path) -> None:
    spec = JobSpec(
        run_id="r",
        job_id="j",
        component_id="c",
        component_type="model-trainer",
        method="train",
        config={},
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path),
        secrets=["hf_s3cr3t"],
    )
    ctx = RunContext(spec=spec, emit=lambda event: None)
    config = {"id": "trainer", "chat_template": "{{ 'hf_s3cr3t' }}", "learning_rate": 1e-4}
    config_path, versions_path = outputs.write_run_files(tmp_path / "out", config, ctx.redact)
    written = json.loads(config_path.read_text())
    assert written == {"id": "trainer", "chat_template": "{{ '***' }}", "learning_rate": 1e-4}
    versions = json.loads(versions_path.read_text())
    assert {"python", "torch", "transformers", "trl", "peft", "datasets"} <= set(versions)


def test_model_reference_shape(tmp_path: Path) -> None:
    ref = outputs.model_reference(
        tmp_path, global_step=6, adapter=True, metrics={"train_loss": 1.5}, checkpoint_paths=[tmp_path / "checkpoint-6"]
    )
    assert ref == {
        "type": "model",
        "output_dir": str(tmp_path.resolve()),
        "global_step": 6,
        "adapter": True,
        "metrics": {"train_loss": 1.5},
        "checkpoints": [str((tmp_path / "checkpoint-6").resolve())],
    }
