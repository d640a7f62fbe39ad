"""Tables derived from events: job status and progress, metric points, artifacts, data sets.

Written inside ``record_events``'s transaction, so a derived row exists exactly when
its event does.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.db import connections, router
from django.db.models import Model
from django.utils import timezone

from compose.jobspec import is_dataset_ref
from datasets_app.models import MaterializedDataset
from training.models import Artifact, JobRun, JobRunStatus, MetricPoint

_JOB_STATUSES = {s.value for s in JobRunStatus}


BIGINT_MAX = 2**63 - 1


def check(event: dict[str, Any]) -> None:
    """Refuse (ValueError) an event whose derived row no database column can hold, before
    anything of its batch is written."""
    kind = event.get("type")
    fields = {"metric": ("step",), "artifact": ("size_bytes", "step"), "progress": ("current", "total")}.get(
        str(kind), ()
    )
    for name in fields:
        value = _int_or_none(event.get(name))
        if value is not None and abs(value) > BIGINT_MAX:
            raise ValueError(f"{kind} {name} {value} is out of range")


class DerivedRows:
    """The derived rows of a batch of events, gathered in order and written at the end:
    metric points and artifacts in one INSERT each, the batch's jobs read with one SELECT
    and each of them written with one UPDATE (its last progress, status, config, output).
    The outcome is the same as applying the events one at a time."""

    def __init__(self, run_id: int, workspace_id: int):
        self.run_id = run_id
        self.workspace_id = workspace_id
        self.metrics: list[MetricPoint] = []
        self.artifacts: list[Artifact] = []
        self.job_events: list[tuple[str, dict[str, Any]]] = []

    def add(self, event: dict[str, Any]) -> None:
        job = str(event.get("job") or "")
        kind = event.get("type")
        if not job:
            return
        if kind == "metric":
            self.metrics.extend(_metric_points(self.run_id, job, event))
        elif kind == "artifact":
            self.artifacts.append(
                Artifact(
                    run_id=self.run_id,
                    job_id=job,
                    kind=str(event.get("kind", "")),
                    path=str(event.get("path", "")),
                    size_bytes=_int_or_none(event.get("size_bytes")),
                    step=_int_or_none(event.get("step")),
                )
            )
        elif kind in ("progress", "config", "output") or (
            kind == "status" and str(event.get("status", "")) in _JOB_STATUSES
        ):
            self.job_events.append((job, event))

    def save(self) -> None:
        insert_many(MetricPoint, self.metrics)
        insert_many(Artifact, self.artifacts)
        if not self.job_events:
            return
        jobs = self._jobs({job for job, _ in self.job_events})
        changed: dict[str, dict[str, Any]] = {}
        datasets = []
        now = timezone.now()
        for job, event in self.job_events:
            row, changes = jobs[job], changed.setdefault(job, {})
            for field, value in _job_changes(row, event, now).items():
                setattr(row, field, value)
                changes[field] = value
            value = event.get("value")
            if event.get("type") == "output" and is_dataset_ref(value) and value.get("fingerprint"):
                datasets.append(value)
        for job, changes in changed.items():
            if changes:
                JobRun.objects.filter(pk=jobs[job].pk).update(**changes)
        for ref in datasets:
            remember_dataset(ref, self.workspace_id)

    def _jobs(self, names: set[str]) -> dict[str, JobRun]:
        jobs = {row.job_id: row for row in JobRun.objects.filter(run_id=self.run_id, job_id__in=names)}
        missing = names - jobs.keys()
        if missing:  # a job the worker did not plan (events written by hand, old runs)
            for name in sorted(missing):
                jobs[name], _ = JobRun.objects.get_or_create(run_id=self.run_id, job_id=name)
        return jobs


def remember_dataset(ref: dict[str, Any], workspace_id: int) -> MaterializedDataset:
    """Upsert the data set a job of ``workspace_id`` materialized (a reused one only gets
    ``last_used`` bumped)."""
    dataset, _ = MaterializedDataset.objects.update_or_create(
        workspace_id=workspace_id,
        fingerprint=str(ref["fingerprint"]),
        defaults={
            "path": str(ref.get("path", "")),
            "num_rows": _int_or_none(ref.get("num_rows")),
            "columns": ref.get("columns") or {},
            "preview": ref.get("preview") or [],
            "sft_format": str(ref.get("sft_format") or ""),
            "size_bytes": _int_or_none(ref.get("size_bytes")),
        },
    )
    return dataset


_AS_IS = {
    "CharField",
    "TextField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "FloatField",
    "ForeignKey",
}


def insert_many(model: type[Model], objs: list[Any]) -> None:
    """INSERT the rows in one statement, whatever their number.

    ``bulk_create`` splits a batch on SQLite (999 parameters a statement, Django's
    assumption for every build), so there one statement is run for every row instead
    (``executemany``: prepared once, no round trip). The rows get no primary key.
    """
    if not objs:
        return
    db = connections[router.db_for_write(model)]  # the connection itself, not the per-thread proxy
    if db.vendor != "sqlite":
        model._default_manager.bulk_create(objs)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = db.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    # Numbers and text go to SQLite as they are; only the other fields (dates, JSON) need
    # Django's conversion, which costs more than the INSERT itself for a few thousand rows.
    convert = [None if f.get_internal_type() in _AS_IS else f for f in fields]
    params = [
        [getattr(obj, f.attname) if c is None else c.get_db_prep_save(c.pre_save(obj, True), db) for f, c in pairs]
        for pairs in [list(zip(fields, convert, strict=True))]
        for obj in objs
    ]
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def _job_changes(row: JobRun, event: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What one event changes on its job's row, given the row as the events before left it."""
    kind = event.get("type")
    if kind == "progress":
        return {
            "progress_current": _int_or_none(event.get("current")),
            "progress_total": _int_or_none(event.get("total")),
            "progress_unit": str(event.get("unit") or "")[:20],
            "progress_stage": str(event.get("stage") or "")[:100],
        }
    if kind == "config":
        return {"config": event.get("values")}
    if kind == "output":
        return {"output": event.get("value")}
    status = str(event.get("status", ""))
    changes: dict[str, Any] = {"status": status, "message": str(event.get("message") or "")}
    if status == JobRunStatus.RUNNING and row.started is None:
        changes["started"] = now
    if status in (JobRunStatus.SUCCEEDED, JobRunStatus.FAILED, JobRunStatus.CANCELLED):
        changes["finished"] = now
        if status == JobRunStatus.SUCCEEDED and row.progress_total:
            changes["progress_current"] = row.progress_total
    return changes


def _metric_points(run_id: int, job: str, event: dict[str, Any]) -> list[MetricPoint]:
    step = _int_or_none(event.get("step"))
    if step is None:
        return []
    epoch = event.get("epoch")
    split = str(event.get("split") or "train")[:10]
    return [
        MetricPoint(
            run_id=run_id,
            job_id=job,
            step=step,
            split=split,
            name=str(name)[:50],
            epoch=epoch if isinstance(epoch, (int, float)) and not isinstance(epoch, bool) else None,
            value=_finite(value),
        )
        for name, value in (event.get("values") or {}).items()
    ]


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None
