"""Run state changes: conditional updates, gap-free events, derived rows, notify after commit."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from compose import events as ev
from datasets_app.models import MaterializedDataset
from tests.web.factories import make_run
from training import notify
from training.actions import (
    InvalidTransition,
    claim_run,
    finish_run,
    heartbeat,
    mark_stale_runs,
    record_event,
    request_cancel,
)
from training.actions import events as event_actions
from training.models import Artifact, JobRun, MetricPoint, Run, RunEvent, RunStatus

BATCH = event_actions.BATCH_EVENTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushes(monkeypatch):
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(notify, "send_now", lambda run_id, kind: sent.append((run_id, kind)))
    # A committed batch of events goes to the pages with its frames (one message per batch).
    monkeypatch.setattr(event_actions, "send_batch", lambda run_id, frames: sent.append((run_id, BATCH)))
    return sent


def test_record_event_numbers_events_from_one_and_notifies_only_after_commit(
    workspace, pushes, django_capture_on_commit_callbacks
):
    run = make_run(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        first = record_event(run, ev.log("load", "hello"))
        second = record_event(run, ev.progress("load", 3, 10, unit="rows"))
        assert pushes == []  # nothing leaves before the transaction commits
    assert (first.seq, second.seq) == (1, 2)
    assert pushes == [(run.pk, BATCH), (run.pk, BATCH)]
    assert first.payload["message"] == "hello" and first.type == "log" and first.job_id == "load"


def test_metric_artifact_status_and_output_events_fill_the_derived_tables(workspace):
    run = make_run(workspace)
    record_event(run, ev.status("train", "running"))
    record_event(run, ev.progress("train", 5, 20))
    record_event(
        run, ev.metric("train", 5, {"loss": 1.5, "learning_rate": 1e-4, "grad_norm": float("nan")}, epoch=0.25)
    )
    record_event(run, ev.metric("train", 10, {"eval_loss": 1.2, "perplexity": 3.3}, split="eval"))
    record_event(run, ev.artifact("train", "checkpoint", "/out/checkpoint-10", size_bytes=1234, step=10))
    ref = {
        "type": "dataset",
        "fingerprint": "ab" * 16,
        "path": "datasets/abab",
        "num_rows": 3,
        "columns": {"text": "string"},
        "preview": [{"text": "a"}],
        "sft_format": "text",
        "reused": False,
    }
    record_event(run, ev.output("train", ref))
    record_event(run, ev.status("train", "succeeded"))

    job = JobRun.objects.get(run=run, job_id="train")
    assert job.status == "succeeded" and job.started and job.finished
    assert job.progress_current == 20 and job.progress_total == 20  # success completes the bar
    assert job.output["fingerprint"] == "ab" * 16
    points = {(p.split, p.name, p.step): p.value for p in MetricPoint.objects.filter(run=run)}
    assert points[("train", "loss", 5)] == 1.5
    assert points[("train", "grad_norm", 5)] is None  # NaN is stored as a gap, not a crash
    assert points[("eval", "perplexity", 10)] == pytest.approx(3.3)
    art = Artifact.objects.get(run=run)
    assert (art.kind, art.path, art.size_bytes, art.step) == ("checkpoint", "/out/checkpoint-10", 1234, 10)
    ds = MaterializedDataset.objects.get(fingerprint="ab" * 16)
    assert ds.num_rows == 3 and ds.columns == {"text": "string"} and ds.sft_format == "text"


def test_a_reused_dataset_is_one_row(workspace):
    ref = {"type": "dataset", "fingerprint": "cd" * 16, "path": "datasets/cdcd", "num_rows": 3}
    for _ in range(2):
        record_event(make_run(workspace), ev.output("load", {**ref, "reused": True}))
    assert MaterializedDataset.objects.filter(fingerprint="cd" * 16).count() == 1


def test_claim_moves_queued_to_running_once(workspace):
    run = make_run(workspace)
    assert claim_run(run.pk, "w1") is True
    assert claim_run(run.pk, "w2") is False
    run.refresh_from_db()
    assert (run.status, run.worker) == (RunStatus.RUNNING, "w1")
    assert run.started and run.heartbeat_at


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_a_run_only_one_wins(workspace):
    run = make_run(workspace)
    barrier = threading.Barrier(2)
    wins: list[bool] = []

    def claim(name: str) -> None:
        barrier.wait()
        try:
            wins.append(claim_run(run.pk, name))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(wins) == [False, True]
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_distinct_gap_free_seqs(workspace):
    run = make_run(workspace)

    def write(job: str) -> None:
        try:
            for i in range(15):
                record_event(run, ev.log(job, f"{job} {i}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(f"job{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    seqs = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 46))


def test_cancel_of_a_queued_run_ends_it_at_once(workspace, alice, pushes, django_capture_on_commit_callbacks):
    run = make_run(workspace, alice)
    with django_capture_on_commit_callbacks(execute=True):
        request_cancel(run, alice)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.finished
    assert claim_run(run.pk, "w1") is False  # a worker that picks it up later skips it
    assert (run.pk, notify.STATUS) in pushes
    assert "Cancelled by alice" in RunEvent.objects.filter(run=run).last().payload["message"]


def test_cancel_of_a_running_run_only_asks_the_worker(workspace, alice):
    run = make_run(workspace, alice)
    claim_run(run.pk, "w1")
    assert heartbeat(run.pk, "w1") is False
    request_cancel(run, alice)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.cancel_requested
    assert heartbeat(run.pk, "w1") is True  # the worker's next beat sees it
    request_cancel(run, alice)  # asking twice is harmless


def test_cancel_of_a_finished_run_is_refused(workspace, alice):
    run = make_run(workspace, alice)
    claim_run(run.pk, "w1")
    assert finish_run(run, RunStatus.SUCCEEDED, output={"ok": 1})
    with pytest.raises(InvalidTransition, match="succeeded"):
        request_cancel(run, alice)


def test_finish_only_ends_a_running_run_and_closes_its_running_jobs(workspace):
    run = make_run(workspace)
    assert finish_run(run, RunStatus.FAILED, error="boom") is False  # still queued
    claim_run(run.pk, "w1")
    record_event(run, ev.status("train", "running"))
    assert finish_run(run, RunStatus.FAILED, error="boom") is True
    assert finish_run(run, RunStatus.SUCCEEDED) is False
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "boom")
    assert JobRun.objects.get(run=run, job_id="train").status == "failed"
    with pytest.raises(InvalidTransition):
        finish_run(run, RunStatus.QUEUED)


def test_a_worker_that_stopped_beating_leaves_its_run_interrupted(workspace):
    stale, fresh = make_run(workspace), make_run(workspace)
    claim_run(stale.pk, "gone")
    claim_run(fresh.pk, "alive")
    Run.objects.filter(pk=stale.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))

    assert mark_stale_runs(60) == [stale.pk]
    stale.refresh_from_db()
    assert stale.status == RunStatus.INTERRUPTED and "gone" in stale.error
    assert Run.objects.get(pk=fresh.pk).status == RunStatus.RUNNING
    # The stalled worker's next heartbeat tells it to stop.
    assert heartbeat(stale.pk, "gone") is True
    assert mark_stale_runs(60) == []


def test_a_batch_is_stored_with_one_wake_up_and_a_bad_event_leaves_no_gap(
    workspace, pushes, django_capture_on_commit_callbacks
):
    from training.actions import record_events

    run = make_run(workspace)
    batch = [
        ev.log("train", "first"),
        ev.metric("train", 10**30, {"loss": 1.0}),  # a step no database column holds
        ev.log("train", "second"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert record_events(run, batch) == (2, 1)
    stored = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", "payload"))
    assert [(seq, p["message"]) for seq, p in stored] == [(1, "first"), (2, "second")]
    assert not MetricPoint.objects.filter(run=run).exists()
    assert pushes == [(run.pk, BATCH)]


def test_a_stalled_worker_cannot_end_the_attempt_that_took_its_run_over(workspace, alice, settings):
    from training.actions import mark_interrupted

    settings.COMPOSE_MAX_ATTEMPTS = 3
    run = make_run(workspace, alice)
    assert claim_run(run.pk, "w1")
    stalled = Run.objects.get(pk=run.pk)  # what worker 1 holds
    assert mark_interrupted(stalled, "no heartbeat")  # ... and the run is queued again
    assert Run.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert claim_run(run.pk, "w2")
    assert finish_run(stalled, RunStatus.CANCELLED) is False
    assert mark_interrupted(stalled, "late") is False
    current = Run.objects.get(pk=run.pk)
    assert current.status == RunStatus.RUNNING and current.attempt == 2 and current.worker == "w2"
    assert finish_run(current, RunStatus.SUCCEEDED)


def test_a_cancelled_or_exhausted_run_is_not_queued_again(workspace, alice, settings):
    from training.actions import mark_interrupted

    settings.COMPOSE_MAX_ATTEMPTS = 2
    run = make_run(workspace, alice)
    claim_run(run.pk, "w1")
    request_cancel(Run.objects.get(pk=run.pk), alice)
    assert mark_interrupted(Run.objects.get(pk=run.pk), "lost")
    assert Run.objects.get(pk=run.pk).status == RunStatus.INTERRUPTED  # a person asked to stop it

    other = make_run(workspace, alice)
    claim_run(other.pk, "w1")
    assert mark_interrupted(Run.objects.get(pk=other.pk), "lost")
    assert Run.objects.get(pk=other.pk).status == RunStatus.QUEUED
    claim_run(other.pk, "w2")
    assert mark_interrupted(Run.objects.get(pk=other.pk), "lost again")
    last = Run.objects.get(pk=other.pk)
    assert last.status == RunStatus.INTERRUPTED and last.attempt == 2  # the last attempt
