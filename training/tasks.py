"""Huey tasks: they take ids, never model instances, and are enqueued after commit.

The top of the web side's layers: it imports the worker, which imports the actions. The
actions reach :func:`schedule_run` through :mod:`training.run_queue`, never by importing
this module.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, on_shutdown, on_startup
from huey.signals import SIGNAL_INTERRUPTED

from training import worker
from training.actions import mark_stale_runs
from training.models import Run, RunStatus
from training.worker import fleet

log = logging.getLogger(__name__)


@db_task()
def execute_run(run_id: int) -> str:
    return worker.execute_run(run_id)


def schedule_run(run_id: int) -> None:
    """Queue a run for a worker; called from ``transaction.on_commit``."""
    execute_run(run_id)


# A worker busy with a long run cannot take this at once; a late copy is useless, so it
# expires rather than piling up (busy workers check from their heartbeat thread instead).
@db_periodic_task(crontab(minute="*"), expires=55, priority=10)
def interrupt_stale_runs() -> list[int]:
    """Runs whose worker died (no heartbeat for COMPOSE_STALE_AFTER_S) become interrupted."""
    return mark_stale_runs(settings.COMPOSE_STALE_AFTER_S)


@db_periodic_task(crontab(minute="*"), expires=55, priority=10)
def requeue_stranded_runs() -> list[int]:
    """Queue again the runs whose task was lost (a queue file removed, Redis flushed).

    Only when the queue is empty: then a run still ``queued`` a minute after it was
    created has no task waiting for it. A duplicate is harmless: the claim is a
    conditional UPDATE, so the second task finds the run taken and skips it.
    """
    if HUEY.pending_count() > 0:
        return []
    cutoff = timezone.now() - timedelta(seconds=60)
    stranded = list(
        Run.objects.filter(status=RunStatus.QUEUED, created__lt=cutoff).order_by("created").values_list("pk", flat=True)
    )
    for run_id in stranded:
        schedule_run(run_id)
    if stranded:
        log.warning("queued %d run(s) again whose task was lost: %s", len(stranded), stranded)
    return stranded


@HUEY.signal(SIGNAL_INTERRUPTED)
def stop_runs_on_shutdown(signal: str, task, *args) -> None:
    """The worker is stopping (Ctrl-C, SIGTERM) while tasks run: stop their job
    processes before this process exits, instead of leaving them orphaned."""
    worker.stop_active_runs(settings.COMPOSE_SHUTDOWN_GRACE_S)


@on_startup()
def join_the_fleet() -> None:
    """Register this worker (its GPUs, CPUs, disk, labels) and keep it beating."""
    if HUEY.immediate:
        return
    try:
        fleet.start_beat(worker.worker_name())
    except Exception:
        log.exception("could not register this worker in the fleet")


@on_shutdown()
def leave_the_fleet() -> None:
    if HUEY.immediate:
        return
    fleet.stop_beat(worker.worker_name())


@on_startup()
def interrupt_stale_runs_at_start() -> None:
    if HUEY.immediate:
        return
    try:
        mark_stale_runs(settings.COMPOSE_STALE_AFTER_S)
    except Exception:
        log.exception("could not check for stale runs at start-up")
