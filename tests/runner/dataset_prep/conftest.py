"""Run datasets jobs in-process against data files the tests write themselves."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from compose.jobspec import JobFailed, JobSpec


class DatasetJobs:
    """One workspace folder (``base``) and one storage folder; every event lands in ``events``."""

    def __init__(self, base: Path, storage: Path):
        self.base = base
        self.storage = storage
        self.events: list[dict[str, Any]] = []
        self._count = 0

    def spec(
        self, method: str, env: dict[str, str] | None = None, secrets: list[str] | None = None, **config: Any
    ) -> JobSpec:
        self._count += 1
        return JobSpec(
            run_id="run-1",
            job_id=f"job-{self._count}",
            component_id="data",
            component_type="datasets",
            method=method,
            config={"id": "data", **config},
            base_dir=str(self.base),
            storage_dir=str(self.storage),
            secrets=list(secrets or []),
            env=dict(env or {}),
        )

    def run(self, method: str, **config: Any) -> dict[str, Any]:
        from runner.main import run_job

        return run_job(self.spec(method, **config), self.events.append)

    def fail(self, method: str, **config: Any) -> str:
        """Run a job that must fail; return the message of its ``failed`` status event."""
        from runner.main import run_job

        with pytest.raises(JobFailed) as info:
            run_job(self.spec(method, **config), self.events.append)
        status = [e for e in self.events if e["type"] == "status"][-1]
        assert status["status"] == "failed"
        assert status["message"] == info.value.message
        return info.value.message

    def rows(self, ref: dict[str, Any]) -> list[dict[str, Any]]:
        from runner.dataset_prep import load_reference

        return load_reference(ref, str(self.storage)).to_list()

    def of_type(self, kind: str, job: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind and (job is None or e["job"] == job)]

    # --- writing data files ---------------------------------------------------
    def write_jsonl(self, name: str, rows: list[dict[str, Any]]) -> Path:
        return self._write(name, "".join(json.dumps(r) + "\n" for r in rows))

    def write_json(self, name: str, rows: list[dict[str, Any]]) -> Path:
        return self._write(name, json.dumps(rows))

    def write_csv(self, name: str, rows: list[dict[str, Any]]) -> Path:
        path = self.base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return path

    def write_text(self, name: str, lines: list[str]) -> Path:
        return self._write(name, "".join(line + "\n" for line in lines))

    def write_parquet(self, name: str, rows: list[dict[str, Any]]) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), path)
        return path

    def _write(self, name: str, text: str) -> Path:
        path = self.base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


@pytest.fixture
def jobs(tmp_path: Path) -> DatasetJobs:
    base = tmp_path / "workspace"
    base.mkdir()
    return DatasetJobs(base, tmp_path / "storage")


def alpaca_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Instruction rows whose values depend on the index, so any row can be recomputed."""
    return [
        {
            "instruction": f"task {i}",
            "input": "" if i % 3 == 0 else f"context {i}",
            "output": "answer " + "x" * (i % 40),
        }
        for i in range(start, start + n)
    ]


@pytest.fixture(name="alpaca_rows")
def alpaca_rows_fixture():
    return alpaca_rows
