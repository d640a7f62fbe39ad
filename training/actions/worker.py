"""The worker's side of a run's life: claim, heartbeat, finish, interrupted.

Every function changes ``Run.status`` with a conditional UPDATE and checks the row
count, so two processes racing on one run (two workers, a worker and a stale check)
have exactly one winner.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from compose import events as ev
from training import notify, run_queue
from training.actions import placement
from training.actions.errors import InvalidTransition
from training.actions.events import record_event
from training.models import JobRun, JobRunStatus, Run, RunStatus

log = logging.getLogger(__name__)


def claim_run(run_id: int, worker: str) -> bool:
    """Take a queued run for this worker; False when another worker (or a cancel) won."""
    now = timezone.now()
    # A paused workspace's run stays queued. Checked apart from the UPDATE: a filter across
    # the join would make it an UPDATE ... WHERE id IN (SELECT ...), which on PostgreSQL
    # lets two racing workers both win.
    if Run.objects.filter(pk=run_id, workspace__queue_paused=True).exists():
        return False
    with transaction.atomic():
        claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, worker=worker, started=now, heartbeat_at=now
        )
        if claimed:
            record_event(Run(pk=run_id), ev.log("", f"Started on worker {worker}"))
            notify.notify_run(run_id, notify.STATUS)
    return bool(claimed)


def heartbeat(run_id: int, worker: str) -> bool:
    """Prove the worker is alive; return True when the worker should stop the run.

    That is when a cancel was requested, or when the run is no longer this worker's
    running run (it was marked interrupted while the worker stalled).
    """
    mine = Run.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker=worker)
    if not mine.update(heartbeat_at=timezone.now()):
        return True
    return mine.filter(cancel_requested=True).exists()


def finish_run(run: Run, status: str, *, output: Any = None, error: str = "") -> bool:
    """End a running run as succeeded, failed or cancelled; False if it was not running."""
    if status not in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        raise InvalidTransition(run.pk, RunStatus.RUNNING, status)
    with transaction.atomic():
        # ``attempt``: a stalled worker whose run went on elsewhere must not end the new attempt.
        done = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, attempt=run.attempt).update(
            status=status, finished=timezone.now(), output=output, error=error
        )
        if done:
            release_gpus(run.pk)
            _close_open_jobs(run.pk, status)
            messages: dict[str, str] = {
                RunStatus.SUCCEEDED: "Run succeeded",
                RunStatus.CANCELLED: "Run cancelled",
                RunStatus.FAILED: f"Run failed: {error}",
            }
            message = messages[status]
            record_event(run, ev.log("", message, "error" if status == RunStatus.FAILED else "info"))
            notify.notify_run(run.pk, notify.STATUS)
    return bool(done)


def mark_interrupted(run: Run, reason: str) -> bool:
    """A running run whose worker is gone (or stopping); False if it already ended.

    The run is then queued again by itself while attempts are left (:func:`retry`)."""
    with transaction.atomic():
        done = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, attempt=run.attempt).update(
            status=RunStatus.INTERRUPTED, finished=timezone.now(), error=reason
        )
        if done:
            release_gpus(run.pk)
            _close_open_jobs(run.pk, RunStatus.INTERRUPTED)
            record_event(run, ev.log("", f"Run interrupted: {reason}", "error"))
            notify.notify_run(run.pk, notify.STATUS)
            retry(run.pk)
    return bool(done)


def retry(run_id: int) -> bool:
    """Queue an interrupted run again, as its next attempt, unless a person asked to cancel
    it or it has had ``COMPOSE_MAX_ATTEMPTS`` attempts; the worker that takes it keeps the
    finished jobs and resumes trainers from their last checkpoint."""
    limit = settings.COMPOSE_MAX_ATTEMPTS
    with transaction.atomic():
        queued = Run.objects.filter(
            pk=run_id, status=RunStatus.INTERRUPTED, cancel_requested=False, attempt__lt=limit
        ).update(status=RunStatus.QUEUED, attempt=F("attempt") + 1, finished=None, worker="", heartbeat_at=None)
        if queued:
            attempt = Run.objects.values_list("attempt", flat=True).get(pk=run_id)
            record_event(
                Run(pk=run_id),
                ev.log(
                    "",
                    f"Queued again by itself: attempt {attempt} of {limit}. Finished jobs are kept and "
                    "training continues from its last checkpoint.",
                    "warning",
                ),
            )
            notify.notify_run(run_id, notify.STATUS)
            transaction.on_commit(lambda: run_queue.schedule_run(run_id))
    return bool(queued)


def mark_stale_runs(stale_after_s: float, now: datetime | None = None) -> list[int]:
    """Mark interrupted every running run whose heartbeat is older than ``stale_after_s``."""
    cutoff = (now or timezone.now()) - timedelta(seconds=stale_after_s)
    stale = Run.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started__lt=cutoff)
    )
    marked = []
    for run in stale.only("pk", "worker", "heartbeat_at"):
        reason = f"worker {run.worker or '?'} stopped sending heartbeats (none for over {int(stale_after_s)} s)"
        # Re-check the heartbeat in the UPDATE: it may have beaten since we looked.
        with transaction.atomic():
            done = (
                Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING)
                .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
                .update(status=RunStatus.INTERRUPTED, finished=timezone.now(), error=reason)
            )
            if done:
                release_gpus(run.pk)
                _close_open_jobs(run.pk, RunStatus.INTERRUPTED)
                record_event(run, ev.log("", f"Run interrupted: {reason}", "error"))
                notify.notify_run(run.pk, notify.STATUS)
                retry(run.pk)
                marked.append(run.pk)
    if marked:
        log.warning("marked %d stale run(s) interrupted: %s", len(marked), marked)
    return marked


def release_gpus(run_id: int) -> None:
    """The GPUs the run held are free again (in the transaction that ends it)."""
    placement.release_gpus(run_id)


def _close_open_jobs(run_id: int, run_status: str) -> None:
    job_status = JobRunStatus.CANCELLED if run_status == RunStatus.CANCELLED else JobRunStatus.FAILED
    JobRun.objects.filter(run_id=run_id, status=JobRunStatus.RUNNING).update(status=job_status, finished=timezone.now())
