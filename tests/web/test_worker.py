"""The worker runs a queued run through the real engine and records what the jobs report."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from compose import events as ev
from compose.jobspec import JobCancelled
from datasets_app.models import MaterializedDataset
from tests.web.factories import TINY_DOCUMENT, make_run
from training.actions import create_document, enqueue_run, request_cancel
from training.models import JobRun, Run, RunEvent, RunStatus, WorkspaceSecret
from training.worker import execute_run

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [{"text": f"row {i}", "label": i % 2} for i in range(6)]


def write_rows(workspace) -> None:
    data = workspace.root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))


def start_worker(run_id: int, result: list[str], executor=None) -> threading.Thread:
    """execute_run in a thread of its own, as a Huey worker thread would run it."""

    def work() -> None:
        try:
            result.append(execute_run(run_id, executor=executor, worker="w"))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def seqs(run: Run) -> list[int]:
    return list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))


@pytest.mark.slow
def test_a_data_set_run_goes_from_queued_to_succeeded_with_its_events(workspace, alice):
    from runner.launch import InProcessExecutor

    write_rows(workspace)
    run = make_run(workspace, alice)
    assert execute_run(run.pk, executor=InProcessExecutor(), worker="test-worker") == "succeeded"

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.worker == "test-worker" and run.started <= run.finished
    job = JobRun.objects.get(run=run, job_id="load")
    assert job.status == "succeeded" and job.component_id == "rows"
    assert job.output["type"] == "dataset" and job.output["num_rows"] == len(ROWS)
    ds = MaterializedDataset.objects.get(fingerprint=job.output["fingerprint"])
    assert ds.num_rows == len(ROWS) and set(ds.columns) == {"text", "label"}
    assert seqs(run) == list(range(1, run.last_seq + 1))  # no gap
    types = set(RunEvent.objects.filter(run=run).values_list("type", flat=True))
    assert {"log", "status", "output"} <= types
    assert run.output is not None


@pytest.mark.slow
def test_each_job_keeps_the_config_it_started_with_secrets_masked(workspace, alice):
    from runner.launch import InProcessExecutor

    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "s3cr3t-value")
    write_rows(workspace)
    doc = TINY_DOCUMENT.replace(
        "    data_files: ./data/rows.jsonl\n", "    data_files: ./data/rows.jsonl\n    token: ${env.HF_TOKEN}\n"
    )
    run = make_run(workspace, alice, yaml_snapshot=doc)
    assert execute_run(run.pk, executor=InProcessExecutor(), worker="w") == "succeeded"
    config = JobRun.objects.get(run=run, job_id="load").config
    assert config["token"] == "***" and config["method"] == "load"
    assert config["data_files"] == str((workspace.root / "data" / "rows.jsonl").resolve())  # resolved
    stored = json.dumps(list(RunEvent.objects.filter(run=run).values_list("payload", flat=True)))
    assert "s3cr3t-value" not in stored and '"type": "config"' in stored


def test_a_run_that_is_not_queued_is_skipped(workspace, alice):
    run = make_run(workspace, alice, status=RunStatus.CANCELLED)
    assert execute_run(run.pk, worker="w") == "skipped"
    assert not RunEvent.objects.filter(run=run).exists()


def test_a_failing_job_fails_the_run_with_its_message(workspace, alice):
    from runner.launch import InProcessExecutor

    run = make_run(workspace, alice)  # data/rows.jsonl was never written
    assert execute_run(run.pk, executor=InProcessExecutor(), worker="w") == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "load" in run.error
    assert JobRun.objects.get(run=run, job_id="load").status == "failed"


class WaitsForCancel:
    """An executor whose one job reports, then blocks until told to stop (a long training)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.saw: dict[str, Any] = {}

    def execute(self, spec, on_event, cancel) -> Any:
        self.saw["env"] = dict(spec.env)
        self.saw["secrets"] = list(spec.secrets)
        on_event(ev.status(spec.job_id, "running"))
        on_event(ev.log(spec.job_id, "token is s3cr3t-value"))
        self.started.set()
        if not cancel.wait(30):
            raise AssertionError("cancel never reached the executor")
        on_event(ev.status(spec.job_id, "cancelled", "stopped"))
        raise JobCancelled("stopped")


class KeepsSpecs:
    """An executor that records each spec and answers at once."""

    def __init__(self) -> None:
        self.specs: list[Any] = []

    def execute(self, spec, on_event, cancel) -> Any:
        self.specs.append(spec)
        on_event(ev.status(spec.job_id, "running"))
        return {"seen": spec.job_id}


@pytest.mark.parametrize("allowed", [True, False])
def test_remote_code_reaches_the_job_only_where_the_workspace_allows_it(workspace, alice, allowed):
    workspace.allow_remote_code = allowed
    workspace.save()
    write_rows(workspace)
    doc = TINY_DOCUMENT.replace("loader: json", "loader: json\n    trust_remote_code: true")
    run, executor = make_run(workspace, alice, yaml_snapshot=doc), KeepsSpecs()
    status = execute_run(run.pk, executor=executor, worker="w")
    if allowed:
        # The job process checks this switch itself (runner.dataset_prep.hub.check_remote_code).
        assert status == "succeeded" and executor.specs[0].env.get("COMPOSE_ALLOW_REMOTE_CODE") == "1"
    else:
        assert status == "failed" and not executor.specs
        assert "does not allow trust_remote_code" in Run.objects.get(pk=run.pk).error


def start_waiting_run(workspace, alice, **run_fields) -> tuple[Run, WaitsForCancel, threading.Thread, list[str]]:
    """A run whose one job has started in a worker thread and waits to be stopped."""
    write_rows(workspace)
    run = make_run(workspace, alice, **run_fields)
    executor = WaitsForCancel()
    result: list[str] = []
    thread = start_worker(run.pk, result, executor=executor)
    assert executor.started.wait(20)
    return run, executor, thread, result


def test_cancel_reaches_the_running_job_within_seconds_and_secrets_never_reach_events(workspace, alice, settings):
    WorkspaceSecret.objects.put(workspace, "HF_TOKEN", "s3cr3t-value")
    doc = TINY_DOCUMENT.replace(
        "    data_files: ./data/rows.jsonl\n", "    data_files: ./data/rows.jsonl\n    token: ${env.HF_TOKEN}\n"
    )
    run, executor, thread, result = start_waiting_run(workspace, alice, yaml_snapshot=doc)
    asked = time.monotonic()
    request_cancel(Run.objects.get(pk=run.pk), alice)
    thread.join(20)
    assert result == ["cancelled"]
    assert time.monotonic() - asked < 5
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.finished
    assert JobRun.objects.get(run=run, job_id="load").status == "cancelled"
    # The secret reached the job (env and the redaction list) but no stored event.
    assert "s3cr3t-value" in executor.saw["secrets"]
    stored = json.dumps(list(RunEvent.objects.filter(run=run).values_list("payload", flat=True)))
    assert "s3cr3t-value" not in stored and "token is ***" in stored


def test_a_worker_marked_interrupted_stops_its_job(workspace, alice, settings):
    run, _, thread, result = start_waiting_run(workspace, alice)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.INTERRUPTED, finished=timezone.now())
    thread.join(20)
    assert not thread.is_alive()
    assert Run.objects.get(pk=run.pk).status == RunStatus.INTERRUPTED  # not overwritten


@pytest.mark.slow
def test_enqueue_runs_the_document_after_commit_in_a_runner_process(workspace, alice):
    write_rows(workspace)
    document = create_document(workspace, alice, "tiny", TINY_DOCUMENT)
    assert document.definition["workflows"][0]["id"] == "load-rows"
    run = enqueue_run(document, "load-rows", {}, alice)  # Huey is immediate in tests
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.yaml_snapshot == TINY_DOCUMENT
    assert JobRun.objects.get(run=run).output["num_rows"] == len(ROWS)


@pytest.mark.slow
def test_cancel_stops_a_real_training_process_within_seconds(workspace, alice, monkeypatch):
    from training.management.commands import _tiny
    from training.models import MetricPoint

    monkeypatch.setattr("training.run_queue.schedule_run", lambda run_id: None)
    _tiny.write_data(workspace.root)
    _tiny.write_model(workspace.root)
    document = create_document(workspace, alice, "tiny", _tiny.DOCUMENT)
    run = enqueue_run(document, "tiny-sft", {"epochs": 500}, alice)
    result: list[str] = []
    thread = start_worker(run.pk, result)
    deadline = time.monotonic() + 180
    while not MetricPoint.objects.filter(run=run, name="loss").exists():
        assert time.monotonic() < deadline and thread.is_alive(), Run.objects.get(pk=run.pk).error
        time.sleep(0.2)

    asked = time.monotonic()
    request_cancel(Run.objects.get(pk=run.pk), alice)
    thread.join(60)
    assert result == ["cancelled"]
    assert time.monotonic() - asked < 20
    assert JobRun.objects.get(run=run, job_id="train").status == "cancelled"
    assert JobRun.objects.get(run=run, job_id="load").status == "succeeded"


def test_a_busy_worker_still_interrupts_a_dead_peers_run(workspace, alice, settings):
    from datetime import timedelta

    from training.actions import claim_run

    settings.COMPOSE_STALE_AFTER_S = 1
    dead = make_run(workspace, alice)
    claim_run(dead.pk, "dead-worker")
    Run.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=30))
    busy, _, thread, _ = start_waiting_run(workspace, alice)
    try:
        deadline = time.monotonic() + 10
        while Run.objects.get(pk=dead.pk).status == RunStatus.RUNNING and time.monotonic() < deadline:
            time.sleep(0.2)
        assert Run.objects.get(pk=dead.pk).status == RunStatus.INTERRUPTED
        assert Run.objects.get(pk=busy.pk).status == RunStatus.RUNNING  # its own beat keeps it fresh
    finally:
        request_cancel(Run.objects.get(pk=busy.pk), alice)
        thread.join(20)


@pytest.fixture
def stopping_worker():
    from training.worker import execute as module

    yield module
    module._active.stopping.clear()


def test_a_stopping_worker_stops_its_runs_and_leaves_them_interrupted(workspace, alice, stopping_worker):
    from training.tasks import stop_runs_on_shutdown

    run, _, thread, result = start_waiting_run(workspace, alice)
    began = time.monotonic()
    stop_runs_on_shutdown("interrupted", None)  # what Huey calls when the consumer stops
    assert time.monotonic() - began < 10
    thread.join(5)
    assert result == ["interrupted"]
    run.refresh_from_db()
    assert run.status == RunStatus.INTERRUPTED and "was stopped" in run.error


def test_queued_runs_whose_task_was_lost_are_queued_again(workspace, alice, monkeypatch):
    from datetime import timedelta

    from training.tasks import requeue_stranded_runs

    queued: list[int] = []
    monkeypatch.setattr("training.tasks.schedule_run", queued.append)
    lost, _fresh = make_run(workspace, alice), make_run(workspace, alice)
    Run.objects.filter(pk=lost.pk).update(created=timezone.now() - timedelta(minutes=5))
    make_run(workspace, alice, status=RunStatus.RUNNING)

    assert requeue_stranded_runs.call_local() == [lost.pk]
    assert queued == [lost.pk]
