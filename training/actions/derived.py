"""Tables derived from events: job status and progress, metric points, artifacts, data sets.

Called inside ``record_event``'s transaction, so a derived row exists exactly when
its event does.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils import timezone

from compose.jobspec import is_dataset_ref
from datasets_app.models import MaterializedDataset
from training.models import Artifact, JobRun, JobRunStatus, MetricPoint, Run

_JOB_STATUSES = {s.value for s in JobRunStatus}


def apply_event(run_id: int, event: dict[str, Any]) -> None:
    job = str(event.get("job") or "")
    kind = event.get("type")
    if kind == "metric" and job:
        _metric(run_id, job, event)
    elif kind == "artifact" and job:
        Artifact.objects.create(
            run_id=run_id,
            job_id=job,
            kind=str(event.get("kind", "")),
            path=str(event.get("path", "")),
            size_bytes=_int_or_none(event.get("size_bytes")),
            step=_int_or_none(event.get("step")),
        )
    elif kind == "status" and job:
        _status(run_id, job, event)
    elif kind == "progress" and job:
        _job(run_id, job)
        JobRun.objects.filter(run_id=run_id, job_id=job).update(
            progress_current=_int_or_none(event.get("current")),
            progress_total=_int_or_none(event.get("total")),
            progress_unit=str(event.get("unit") or "")[:20],
            progress_stage=str(event.get("stage") or "")[:100],
        )
    elif kind == "config" and job:
        JobRun.objects.filter(pk=_job(run_id, job).pk).update(config=event.get("values"))
    elif kind == "output" and job:
        value = event.get("value")
        JobRun.objects.filter(pk=_job(run_id, job).pk).update(output=value)
        if is_dataset_ref(value) and value.get("fingerprint"):
            remember_dataset(value, Run.objects.values_list("workspace_id", flat=True).get(pk=run_id))


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


def _job(run_id: int, job: str) -> JobRun:
    row, _ = JobRun.objects.get_or_create(run_id=run_id, job_id=job)
    return row


def _status(run_id: int, job: str, event: dict[str, Any]) -> None:
    status = str(event.get("status", ""))
    if status not in _JOB_STATUSES:
        return
    row = _job(run_id, job)
    changes: dict[str, Any] = {"status": status, "message": str(event.get("message") or "")}
    now = timezone.now()
    if status == JobRunStatus.RUNNING and row.started is None:
        changes["started"] = now
    if status in (JobRunStatus.SUCCEEDED, JobRunStatus.FAILED, JobRunStatus.CANCELLED):
        changes["finished"] = now
        if status == JobRunStatus.SUCCEEDED and row.progress_total:
            changes["progress_current"] = row.progress_total
    JobRun.objects.filter(pk=row.pk).update(**changes)


def _metric(run_id: int, job: str, event: dict[str, Any]) -> None:
    step = _int_or_none(event.get("step"))
    if step is None:
        return
    epoch = event.get("epoch")
    split = str(event.get("split") or "train")[:10]
    points = [
        MetricPoint(
            run_id=run_id,
            job_id=job,
            step=step,
            split=split,
            name=str(name)[:50],
            epoch=epoch if isinstance(epoch, (int, float)) else None,
            value=_finite(value),
        )
        for name, value in (event.get("values") or {}).items()
    ]
    MetricPoint.objects.bulk_create(points)


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
