"""Model jobs run in-process against the tiny models of tests/conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compose.jobspec import JobSpec
from compose.schema.components import ModelComponent
from tests.fixtures.training import run_trainer


def model_spec(tmp_path: Path, **fields: Any) -> JobSpec:
    fields.setdefault("device", "cpu")
    config = ModelComponent(id="answer", **fields).model_dump(mode="json")
    return JobSpec(
        run_id="run-1",
        job_id="answer",
        component_id="answer",
        component_type="model",
        method="run",
        config=config,
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path / "storage"),
    )


def run_model(tmp_path: Path, **fields: Any) -> tuple[Any, list[dict[str, Any]]]:
    return run_trainer(model_spec(tmp_path, **fields))
