"""A placed run lets its GPUs go however it ends: its job process killed with kill -9
(the run fails), or a cancel. The job is tests/web/fleet_job.py under the real executor."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import runner.launch as launch
from tests.web.test_fleet import register, trainer_document
from training.actions import request_cancel
from training.models import Gpu, Run, RunStatus

JOB = Path(__file__).with_name("fleet_job.py")
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def placed(settings, workspace, monkeypatch, tmp_path):
    settings.COMPOSE_PLACEMENT = True
    settings.COMPOSE_EXECUTOR = "subprocess"
    settings.COMPOSE_JOB_ENV_ALLOW = ["FLEET_RECORD"]
    record = tmp_path / "jobs.jsonl"
    monkeypatch.setenv("FLEET_RECORD", str(record))
    monkeypatch.setattr(
        launch,
        "runner_command",
        lambda spec, path=None, python=sys.executable, remove_spec=False: [python, str(JOB), str(path)],
    )
    workspace.default_sft_model = "fake/model"
    workspace.save()
    (workspace.root / "data").mkdir(parents=True)
    (workspace.root / "data" / "rows.jsonl").write_text('{"text": "a"}\n')
    register("box-r", 2, settings)
    return record


def start(workspace, alice) -> tuple[Run, threading.Thread, dict]:
    from django.db import connection

    from training.worker import execute_run

    run = Run.objects.create(
        workspace=workspace,
        created_by=alice,
        workflow_id="train",
        yaml_snapshot=trainer_document(2).replace("max_steps: 8", "max_steps: 600"),
        need_gpus=2,
    )
    result: dict = {}

    def work() -> None:
        try:
            result["status"] = execute_run(run.pk, worker="box-r")
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return run, thread, result


def job_pid(record: Path, run: Run, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in record.read_text().splitlines() if record.exists() else []:
            row = json.loads(line)
            if row["run"] == run.pk and row["job"] == "train":
                return row
        time.sleep(0.1)
    raise AssertionError("the train job did not start")


def test_a_job_process_killed_with_kill_9_fails_the_run_and_its_gpus_are_free(placed, workspace, alice):
    run, thread, result = start(workspace, alice)
    row = job_pid(placed, run)
    assert row["cvd"] == "0,1" and Gpu.objects.filter(run=run).count() == 2
    os.kill(row["pid"], signal.SIGKILL)
    thread.join(60)
    run.refresh_from_db()
    assert result["status"] == RunStatus.FAILED and run.status == RunStatus.FAILED
    assert not Gpu.objects.filter(run__isnull=False).exists()


def test_a_cancelled_run_lets_its_gpus_go(placed, workspace, alice):
    run, thread, result = start(workspace, alice)
    job_pid(placed, run)
    request_cancel(run, alice)
    thread.join(60)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not Gpu.objects.filter(run__isnull=False).exists()
