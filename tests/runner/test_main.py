"""``python -m runner --spec job.json`` as a process: argv, stdout events only, exit codes, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compose.events import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_USAGE, parse_line
from compose.jobspec import JobSpec
from runner.launch import child_env
from runner.main import main
from tests.fixtures import data
from tests.fixtures.training import trainer_spec

ROOT = Path(__file__).resolve().parents[2]


def start_runner(spec: JobSpec, tmp_path: Path) -> subprocess.Popen[str]:
    path = spec.write(tmp_path / "job.json")
    return subprocess.Popen(
        [sys.executable, "-m", "runner", "--spec", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(spec),
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, list[dict], str]:
    out, err = proc.communicate(timeout=timeout)
    # Every stdout line must be an event record: a stray print would break the stream.
    return proc.returncode, [parse_line(line) for line in out.splitlines() if line.strip()], err


def test_missing_spec_file_is_a_usage_error(tmp_path, capsys):
    assert main(["--spec", str(tmp_path / "nope.json")]) == EXIT_USAGE
    assert "cannot read job spec" in capsys.readouterr().err


def test_malformed_spec_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "job.json"
    bad.write_text(json.dumps({"run_id": "r"}))
    assert main(["--spec", str(bad)]) == EXIT_USAGE


def test_unknown_component_type_fails_with_a_status_event(tmp_path):
    spec = JobSpec(
        run_id="r",
        job_id="j",
        component_id="c",
        component_type="gateway",
        method="run",
        config={},
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path),
    )
    code, seen, _ = finish(start_runner(spec, tmp_path))
    assert code == EXIT_FAILED
    assert [(e["type"], e.get("status")) for e in seen] == [("status", "running"), ("status", "failed")]
    assert "cannot be run by compose-web" in seen[-1]["message"]


@pytest.mark.slow
def test_training_job_prints_only_events_and_ends_with_its_output(tmp_path, tiny_causal_lm_dir):
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.prompt_response_rows(8),
        prompt_column="prompt",
        response_column="response",
        max_steps=2,
        per_device_train_batch_size=4,
        logging_steps=1,
        save_steps=None,
    )
    code, seen, stderr = finish(start_runner(spec, tmp_path))
    assert code == EXIT_OK, stderr[-2000:]
    assert [e["type"] for e in seen][-2:] == ["output", "status"]
    assert seen[-1]["status"] == "succeeded"
    assert seen[-2]["value"]["global_step"] == 2
    assert {e["job"] for e in seen} == {"train"}


@pytest.mark.slow
def test_sigterm_mid_training_saves_a_checkpoint_and_exits_143(tmp_path, tiny_causal_lm_dir):
    spec = trainer_spec(
        tmp_path,
        tiny_causal_lm_dir,
        data.prompt_response_rows(64),
        prompt_column="prompt",
        response_column="response",
        max_steps=100_000,
        per_device_train_batch_size=2,
        logging_steps=1,
        save_steps=None,
    )
    proc = start_runner(spec, tmp_path)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        event = parse_line(line)
        seen.append(event)
        if event["type"] == "metric":  # a training step has finished: we are mid-run
            break
    else:
        pytest.fail(f"no training step before the runner ended: {proc.stderr.read()[-2000:]}")
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code, rest, stderr = finish(proc, timeout=60)
    stopped_after = time.monotonic() - signalled
    seen += rest

    assert code == EXIT_CANCELLED, stderr[-2000:]
    assert stopped_after < 20
    status = [e for e in seen if e["type"] == "status"]
    assert status[-1]["status"] == "cancelled"
    checkpoints = [e for e in seen if e["type"] == "artifact" and e["kind"] == "checkpoint"]
    assert len(checkpoints) == 1
    folder = Path(checkpoints[0]["path"])
    assert folder.parent == (tmp_path / "out").resolve()
    assert (folder / "trainer_state.json").is_file()
    step = json.loads((folder / "trainer_state.json").read_text())["global_step"]
    assert 1 <= step < 100_000  # it stopped at a step boundary, long before the end
    assert folder.name == f"checkpoint-{step}"
    assert str(folder) in status[-1]["message"]


def test_env_of_the_child_carries_the_spec_env(tmp_path):
    spec = JobSpec(
        run_id="r",
        job_id="j",
        component_id="c",
        component_type="datasets",
        method="load",
        config={},
        base_dir=str(tmp_path),
        storage_dir=str(tmp_path),
        env={"HF_TOKEN": "t"},
    )
    env = child_env(spec, base=os.environ)
    assert env["HF_TOKEN"] == "t" and env["PYTHONUNBUFFERED"] == "1"
