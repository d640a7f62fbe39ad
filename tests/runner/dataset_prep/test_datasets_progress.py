"""Progress events for maps, filters and streamed loads; cancel stops an operation."""

from __future__ import annotations

import threading

import pytest

from compose.jobspec import JobCancelled
from runner.dataset_prep.progress import RowProgress


def _check_progress(events, stage, total):
    progress = [e for e in events if e["type"] == "progress" and e["stage"] == stage]
    assert progress, f"no {stage} progress"
    assert all(e["unit"] == "rows" and e["total"] == total for e in progress)
    currents = [e["current"] for e in progress]
    assert currents == sorted(currents) and currents[-1] == (total if total is not None else currents[-1])
    return progress


def test_map_and_filter_report_rows(jobs):
    rows = [{"t": "x" * (i % 7)} for i in range(5000)]
    jobs.write_jsonl("d.jsonl", rows)
    ref = jobs.run("load", loader="json", data_files="d.jsonl")
    jobs.run("map", dataset=ref, template="<{t}>")
    _check_progress(jobs.events, "map", 5000)
    out = jobs.run("filter", dataset=ref, condition="len(t) > 3")
    _check_progress(jobs.events, "filter", 5000)
    assert out["num_rows"] == sum(1 for r in rows if len(r["t"]) > 3)


class _Ctx:
    job = "j"
    is_main = True

    def __init__(self):
        self.events = []
        self.cancelled = threading.Event()

    def emit(self, event):
        self.events.append(event)

    def check_cancelled(self):
        if self.cancelled.is_set():
            raise JobCancelled("cancelled")


def test_progress_is_throttled_and_ends_with_the_total():
    ctx = _Ctx()
    progress = RowProgress(ctx, "map", 100_000)
    for _ in range(100):
        progress.advance(1000)
    progress.finish()
    # 100 batches in well under a second: the first and the final report only.
    assert [e["current"] for e in ctx.events] == [1000, 100_000]
    assert ctx.events[-1]["eta_s"] == 0


def test_progress_reports_every_batch_when_slow_enough():
    ctx = _Ctx()
    progress = RowProgress(ctx, "load", None, interval_s=0)
    for _ in range(3):
        progress.advance(10)
    progress.finish()
    assert [(e["current"], e["total"], e["eta_s"]) for e in ctx.events] == [
        (10, None, None),
        (20, None, None),
        (30, None, None),
    ]


def test_cancel_stops_a_map(jobs):
    from runner.main import run_job

    jobs.write_jsonl("d.jsonl", [{"t": "a"}] * 3000)
    ref = jobs.run("load", loader="json", data_files="d.jsonl")
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(JobCancelled):
        run_job(jobs.spec("map", dataset=ref, template="{t}"), jobs.events.append, cancelled)
    assert jobs.events[-1]["status"] == "cancelled"
    # Nothing was materialized for the cancelled job.
    assert len([n for n in (jobs.storage / "datasets").iterdir()]) == 1
