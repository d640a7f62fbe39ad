"""``python -m runner --spec job.json`` runs a datasets job and prints its events on stdout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compose.events import read_events

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_runner_process_loads_and_reports(jobs, tmp_path):
    jobs.write_jsonl("d.jsonl", [{"prompt": "p1", "response": "r1"}, {"prompt": "p2", "response": "r2"}])
    spec_file = jobs.spec("load", provider="local", loader="json", data_files="d.jsonl").write(tmp_path / "job.json")
    done = subprocess.run(
        [sys.executable, "-m", "runner", "--spec", str(spec_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    events = list(read_events(done.stdout.splitlines()))
    assert [e["status"] for e in events if e["type"] == "status"] == ["running", "succeeded"]
    [output] = [e["value"] for e in events if e["type"] == "output"]
    assert output["num_rows"] == 2 and output["sft_format"] == "prompt-response"
    assert jobs.rows(output) == [{"prompt": "p1", "response": "r1"}, {"prompt": "p2", "response": "r2"}]
    # stdout carries events only.
    assert all(line.startswith("{") for line in done.stdout.splitlines() if line.strip())


@pytest.mark.slow
def test_runner_process_failure_exit_code(jobs, tmp_path):
    spec_file = jobs.spec("load", loader="json", data_files="missing.json").write(tmp_path / "job.json")
    done = subprocess.run(
        [sys.executable, "-m", "runner", "--spec", str(spec_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    events = list(read_events(done.stdout.splitlines()))
    assert events[-1]["status"] == "failed" and "data file 'missing.json' not found" in events[-1]["message"]
