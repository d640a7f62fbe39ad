"""Events stored in batches: a fixed number of queries, the same rows as one at a time,
gap-free seqs across processes, a bad event skipped without losing the others."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compose import events as ev
from tests.web.factories import make_run
from training.actions import events as event_actions
from training.actions import record_event, record_events
from training.models import Artifact, JobRun, MetricPoint, RunEvent

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def mixed(n: int, job: str = "train") -> list[dict]:
    """``n`` events as a trainer sends them: mostly logs and metrics, progress, a checkpoint."""
    out: list[dict] = []
    kinds = ("log", "metric", "progress", "metric", "artifact")
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "log":
            out.append(ev.log(job, f"step {i}"))
        elif kind == "metric":
            out.append(ev.metric(job, i, {"loss": 1.0 / (i + 1), "learning_rate": 1e-4}, epoch=i / 100))
        elif kind == "progress":
            out.append(ev.progress(job, i, n, unit="steps"))
        else:
            out.append(ev.artifact(job, "checkpoint", f"/out/checkpoint-{i}", size_bytes=i, step=i))
    return out


def lifecycle() -> list[dict]:
    ref = {"type": "dataset", "fingerprint": "ef" * 16, "path": "datasets/efef", "num_rows": 2}
    return [
        ev.config("train", {"lr": 1e-4}),
        ev.status("train", "running"),
        *mixed(12),
        ev.status("load", "running"),
        ev.progress("load", 2, 2, unit="rows"),
        ev.output("load", ref),
        ev.status("load", "succeeded"),
        ev.progress("train", 7, 30),
        ev.status("train", "succeeded", "done"),
        ev.log("", "run line"),
    ]


def snapshot(run) -> dict:
    jobs = {
        j.job_id: (
            j.status,
            j.message,
            j.progress_current,
            j.progress_total,
            j.progress_unit,
            j.config,
            j.output,
            j.started is not None,
            j.finished is not None,
        )
        for j in JobRun.objects.filter(run=run)
    }
    return {
        "events": [
            (seq, kind, job, {k: v for k, v in payload.items() if k != "ts"})
            for seq, kind, job, payload in RunEvent.objects.filter(run=run).values_list(
                "seq", "type", "job_id", "payload"
            )
        ],
        "metrics": sorted(
            MetricPoint.objects.filter(run=run).values_list("job_id", "step", "epoch", "split", "name", "value")
        ),
        "artifacts": list(
            Artifact.objects.filter(run=run).order_by("id").values_list("job_id", "kind", "path", "size_bytes", "step")
        ),
        "jobs": jobs,
    }


@pytest.fixture
def planned(workspace):
    """A run whose jobs the worker has planned (pending rows), as every executing run has."""

    def make():
        run = make_run(workspace)
        for position, job in enumerate(("load", "train")):
            JobRun.objects.create(run=run, job_id=job, position=position)
        return run

    return make


def test_a_batch_costs_the_same_queries_whatever_its_size(planned):
    counts = {}
    for size in (1, 10, 500):
        run = planned()
        record_events(run, mixed(5))
        batch = mixed(size) if size > 1 else [ev.progress("train", 1, 2)]
        with CaptureQueriesContext(connection) as queries:
            assert record_events(run, batch) == (size, 0)
        counts[size] = [q["sql"][:60] for q in queries.captured_queries]
        seqs = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, 5 + size + 1))
    # Savepoints (two, and their releases), the seq reservation, the events, the metric points, the
    # artifacts, the jobs' SELECT and one UPDATE for the one job: the same for 10 as for 500.
    assert len(counts[10]) == len(counts[500]) <= 10, counts[500]
    assert len(counts[1]) <= len(counts[10])


def test_a_batch_leaves_the_same_rows_as_one_event_at_a_time(planned):
    one, batch = planned(), planned()
    for event in lifecycle():
        record_event(one, event)
    assert record_events(batch, lifecycle()) == (len(lifecycle()), 0)
    a, b = snapshot(one), snapshot(batch)
    assert a == b
    assert a["jobs"]["train"][:4] == ("succeeded", "done", 30, 30)  # success fills the bar
    assert a["jobs"]["load"][6]["fingerprint"] == "ef" * 16


def test_events_of_a_job_nobody_planned_create_its_row(workspace):
    run = make_run(workspace)
    assert record_events(run, [ev.status("extra", "running"), ev.progress("extra", 1, 4)]) == (2, 0)
    job = JobRun.objects.get(run=run, job_id="extra")
    assert (job.status, job.progress_current, job.progress_total) == ("running", 1, 4) and job.started


def test_bad_events_are_skipped_and_reported_without_losing_the_others(planned, caplog):
    run = planned()
    batch: list[Any] = [
        ev.log("train", "first"),
        {"type": "telemetry", "job": "train", "ts": 1.0},  # not a compose event type
        "not an event",
        ev.metric("train", 10**30, {"loss": 1.0}),  # a step no database column holds
        {**ev.log("train", "x"), "job": "j" * 300},  # a job id longer than its column
        ev.log("train", "second"),
        {**ev.log("train", "odd values"), "extra": {1, 2}, "when": object()},  # stored as their text
    ]
    with caplog.at_level(logging.ERROR, logger="training.actions.events"):
        assert record_events(run, batch) == (3, 4)
    assert "telemetry" in caplog.text and "could not record" in caplog.text
    stored = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", "payload"))
    assert [(seq, p["message"]) for seq, p in stored] == [(1, "first"), (2, "second"), (3, "odd values")]
    assert not MetricPoint.objects.filter(run=run).exists()


def test_an_event_refused_while_writing_is_found_and_the_batch_kept(planned, monkeypatch, caplog):
    # Whatever fails inside the batch's write (here: its derived rows) rolls the batch back,
    # then each event is written on its own, so only the culprit is lost and no seq is skipped.
    run = planned()
    real_add = event_actions.DerivedRows.add

    def add(self, event):
        if event.get("message") == "poison":
            raise RuntimeError("refused")
        real_add(self, event)

    monkeypatch.setattr(event_actions.DerivedRows, "add", add)
    batch = [ev.metric("train", 1, {"loss": 2.0}), ev.log("train", "poison"), ev.progress("train", 1, 3)]
    with caplog.at_level(logging.ERROR, logger="training.actions.events"):
        assert record_events(run, batch) == (2, 1)
    assert list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", "type")) == [
        (1, "metric"),
        (2, "progress"),
    ]
    assert MetricPoint.objects.filter(run=run).count() == 1
    assert JobRun.objects.get(run=run, job_id="train").progress_current == 1
    assert run.__class__.objects.get(pk=run.pk).last_seq == 2


def test_record_event_refuses_a_bad_event_and_stores_nothing(planned):
    run = planned()
    with pytest.raises(event_actions.BadEvent):
        record_event(run, {"type": "nope", "job": "train"})
    assert not RunEvent.objects.filter(run=run).exists()


def test_a_batch_reaches_the_pages_as_one_message_of_ready_frames(
    planned, monkeypatch, django_capture_on_commit_callbacks
):
    sent: list = []
    monkeypatch.setattr(event_actions, "send_batch", lambda run_id, frames: sent.append((run_id, frames)))
    run = planned()
    with django_capture_on_commit_callbacks(execute=True):
        record_events(run, [ev.log("train", "a"), ev.metric("train", 1, {"loss": float("nan")})])
        assert sent == []  # nothing leaves before the commit
    [(run_id, frames)] = sent
    import json

    assert run_id == run.pk and [seq for seq, _ in frames] == [1, 2]
    messages = [json.loads(text) for _, text in frames]
    assert messages[0] == {"type": "event", "seq": 1, "event": RunEvent.objects.get(run=run, seq=1).payload}
    assert messages[1]["event"]["values"] == {"loss": None}


CHILD = """
import sys, django
django.setup()
from compose import events as ev
from training.actions import record_events
from training.models import Run
run = Run.objects.get(pk=int(sys.argv[1]))
name = sys.argv[2]
for i in range(40):
    stored, failed = record_events(run, [ev.log(name, f"{name} {i} {k}") for k in range(1 + i % 7)])
    assert failed == 0
"""


@pytest.mark.django_db(transaction=True)
def test_two_processes_writing_at_once_get_gap_free_unique_seqs(workspace):
    run = make_run(workspace)
    db = settings.DATABASES["default"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "compose_web.settings"}
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(db["NAME"])
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(run.pk), name], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        )
        for name in ("a", "b")
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    per_child = sum(1 + i % 7 for i in range(40))
    seqs = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 2 * per_child + 1))
    assert run.__class__.objects.get(pk=run.pk).last_seq == 2 * per_child
    # Each process's own events kept their order.
    for name in ("a", "b"):
        messages = [
            p["message"]
            for p in RunEvent.objects.filter(run=run, job_id=name).order_by("seq").values_list("payload", flat=True)
        ]
        assert messages == [f"{name} {i} {k}" for i in range(40) for k in range(1 + i % 7)]


def test_an_event_keeps_the_time_it_was_made(planned):
    from datetime import UTC, datetime

    run = planned()
    event = {**ev.log("train", "then"), "ts": 1_700_000_000.25}
    assert record_events(run, [event, {**event, "ts": "not a time"}]) == (2, 0)
    first, second = RunEvent.objects.filter(run=run).order_by("seq")
    assert first.ts == datetime.fromtimestamp(1_700_000_000.25, tz=UTC)
    assert second.ts.year >= 2026  # no usable time: when it was stored


def test_a_nul_character_costs_only_its_own_event(planned):
    # PostgreSQL's jsonb holds no NUL; SQLite keeps it.
    run = planned()
    batch = [ev.log("train", "before"), ev.log("train", "nul \x00 here"), ev.log("train", "after")]
    stored = record_events(run, batch)
    rows = RunEvent.objects.filter(run=run).order_by("seq")
    messages = [p["message"] for p in rows.values_list("payload", flat=True)]
    if connection.vendor == "postgresql":
        assert stored == (2, 1) and messages == ["before", "after"]
    else:
        assert stored == (3, 0) and messages[1] == "nul \x00 here"
