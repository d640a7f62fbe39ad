"""Placement: which worker holds which run on which GPUs, and why a run still waits.

A run's *need* (GPUs, labels, GPU memory) is computed from its jobs when it is queued
(:func:`run_need`) and stored on the run. A worker takes a queued run only when it can
hold it now (:func:`place_next`): in one transaction it locks its own GPU rows, picks the
first queued run in queue order (priority, then time queued) that fits its free GPUs,
its labels and the run's workspace limit, skipping runs another worker is looking at
(``SKIP LOCKED`` on PostgreSQL), and marks the run running and those GPUs held by it.
The GPUs are let go in the transaction that ends the run (:func:`release_gpus`).

Placement is on with ``COMPOSE_PLACEMENT`` (the default when ``DATABASE_URL`` is set);
the embedded default (SQLite, one worker) keeps its one-run-per-task claim.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from compose import events as ev
from compose.errors import Problem
from compose.need import Need
from training import notify, run_queue
from training.actions.errors import RunRefused
from training.actions.events import record_event
from training.models import Gpu, Run, RunStatus, Worker, WorkerStatus, Workspace

log = logging.getLogger(__name__)


def stored_need(run: Run) -> Need:
    return Need(run.need_gpus, tuple(run.need_labels or ()), run.need_gpu_memory_gb)


# --- workers ----------------------------------------------------------------------


def live_workers():
    cutoff = timezone.now() - timedelta(seconds=settings.COMPOSE_STALE_AFTER_S)
    return Worker.objects.filter(status=WorkerStatus.ONLINE, last_seen__gte=cutoff)


def _fits_worker(need: Need, labels: set[str], gpus: list[Gpu]) -> bool:
    if not set(need.labels) <= labels:
        return False
    usable = [g for g in gpus if not need.gpu_memory_gb or g.memory_mb >= need.gpu_memory_gb * 1024]
    return len(usable) >= need.gpus


def refusal(need: Need, workspace: Workspace | None = None) -> str | None:
    """Why no registered worker could ever hold a run of this need, or None.

    Only with placement on, and only once a worker has registered (a fleet still
    starting refuses nothing)."""
    if not settings.COMPOSE_PLACEMENT or (need.gpus == 0 and not need.labels):
        return None
    if workspace is not None and workspace.gpu_limit is not None and need.gpus > workspace.gpu_limit:
        return (
            f"needs {need.gpus} GPU{'s' if need.gpus != 1 else ''}; the workspace may hold "
            f"{workspace.gpu_limit} at once"
        )
    workers = list(live_workers().prefetch_related("gpus"))
    if not workers:
        return None
    if any(_fits_worker(need, set(w.labels or ()), list(w.gpus.all())) for w in workers):
        return None
    largest = max(len(w.gpus.all()) for w in workers)
    if need.gpus > largest:
        return f"needs {need.gpus} GPU{'s' if need.gpus != 1 else ''}; the largest worker has {largest}"
    return f"needs {need.describe()}; no registered worker has that"


def check_placeable(need: Need, workspace: Workspace | None = None) -> None:
    reason = refusal(need, workspace)
    if reason:
        raise RunRefused([Problem("resources", reason)])


# --- claim and release ------------------------------------------------------------


def place_next(worker: Worker, only_run: int | None = None) -> tuple[int, list[int]] | None:
    """Claim for ``worker`` the first queued run it can hold now, and its GPUs.

    Returns ``(run id, GPU indices)`` or None when nothing fits. ``only_run``: consider
    that run alone (a task executed in the caller's process, ``HUEY.immediate``).
    """
    labels = set(worker.labels or ())
    with transaction.atomic():
        mine = list(Gpu.objects.select_for_update().filter(worker=worker).order_by("index"))
        free = [g for g in mine if g.run_id is None]
        queued = Run.objects.filter(status=RunStatus.QUEUED, workspace__queue_paused=False).order_by(
            "-priority", "created", "pk"
        )
        if only_run is not None:
            queued = queued.filter(pk=only_run)
        for pk in list(queued.values_list("pk", flat=True)[:100]):
            # One row at a time, in queue order: a run another worker is deciding on is
            # skipped, never waited for, and a run is only passed over for a later one
            # when it does not fit here or someone else is taking it.
            run = _lock_queued(pk)
            if run is None:
                continue
            need = stored_need(run)
            if not set(need.labels) <= labels:
                continue
            usable = [g for g in free if not need.gpu_memory_gb or g.memory_mb >= need.gpu_memory_gb * 1024]
            if len(usable) < need.gpus:
                continue
            if need.gpus and not _within_limit(run.workspace_id, need.gpus):
                continue
            now = timezone.now()
            if not Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
                status=RunStatus.RUNNING, worker=worker.name, started=now, heartbeat_at=now
            ):
                continue
            chosen = usable[: need.gpus]
            Gpu.objects.filter(pk__in=[g.pk for g in chosen]).update(run_id=run.pk, claimed_at=now)
            indices = [g.index for g in chosen]
            where = f" on GPU {', '.join(map(str, indices))}" if indices else ""
            record_event(Run(pk=run.pk), ev.log("", f"Started on worker {worker.name}{where}"))
            notify.notify_run(run.pk, notify.STATUS)
            return run.pk, indices
    return None


def _lock_queued(pk: int) -> Run | None:
    from django.db import connection

    rows = Run.objects.filter(pk=pk, status=RunStatus.QUEUED)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    return rows.only("pk", "workspace_id", "need_gpus", "need_labels", "need_gpu_memory_gb").first()


def _within_limit(workspace_id: int, gpus: int) -> bool:
    """The workspace's runs may hold ``gpus`` more without passing its limit.

    The workspace row is locked first, so two workers placing its runs at once count
    each other's claims."""
    workspace = Workspace.objects.select_for_update().only("gpu_limit").get(pk=workspace_id)
    if workspace.gpu_limit is None:
        return True
    held = Gpu.objects.filter(run__workspace_id=workspace_id).count()
    return held + gpus <= workspace.gpu_limit


def claim_gpus_embedded(run_id: int, worker: Worker, count: int) -> list[int]:
    """The embedded default's worker took the run the old way; give it free GPUs when it
    has enough (it runs one run at a time, so it always has)."""
    if not count:
        return []
    with transaction.atomic():
        free = list(Gpu.objects.select_for_update().filter(worker=worker, run__isnull=True).order_by("index")[:count])
        if len(free) < count:
            return []
        Gpu.objects.filter(pk__in=[g.pk for g in free]).update(run_id=run_id, claimed_at=timezone.now())
    return [g.index for g in free]


def release_gpus(run_id: int) -> int:
    """Let go of the GPUs a run holds; called in the transaction that ends it."""
    return Gpu.objects.filter(run_id=run_id).update(run=None, claimed_at=None)


# --- why a run waits --------------------------------------------------------------


@dataclass
class QueueEntry:
    run: Run
    position: int
    need: Need
    reason: str = ""
    may_steer: bool = False  # set by the queue page for the person looking at it


def waiting_reason(run: Run) -> str:
    """What a queued run waits for, in words: "waiting for 2 GPUs; 3 of 4 busy: #41, #42"."""
    if run.status != RunStatus.QUEUED:
        return ""
    if run.workspace.queue_paused:
        return f"the queue of {run.workspace.name} is paused"
    need = stored_need(run)
    if not settings.COMPOSE_PLACEMENT:
        return "waiting for the worker"
    workers = list(live_workers().prefetch_related("gpus"))
    if not workers:
        return "waiting for a worker to start"
    if need.gpus and run.workspace.gpu_limit is not None:
        held = Gpu.objects.filter(run__workspace_id=run.workspace_id).count()
        if held + need.gpus > run.workspace.gpu_limit:
            return (
                f"waiting for the workspace's GPU limit: {held} of {run.workspace.gpu_limit} in use, needs {need.gpus}"
            )
    gpus = [g for w in workers for g in w.gpus.all() if _fits_worker(Need(0, need.labels), set(w.labels or ()), [])]
    busy = [g for g in gpus if g.run_id is not None]
    if need.gpus:
        holders = ", ".join(f"#{pk}" for pk in sorted({g.run_id for g in busy}))
        plural = "s" if need.gpus != 1 else ""
        return f"waiting for {need.gpus} GPU{plural}; {len(busy)} of {len(gpus)} busy" + (
            f": {holders}" if holders else ""
        )
    ahead = (
        Run.objects.filter(status=RunStatus.QUEUED)
        .filter(Q(priority__gt=run.priority) | Q(priority=run.priority, created__lt=run.created))
        .count()
    )
    return (
        f"waiting for a free worker; {ahead} run{'s' if ahead != 1 else ''} ahead"
        if ahead
        else "waiting for a free worker"
    )


def queue_for(workspaces) -> list[QueueEntry]:
    """The queued runs of these workspaces in queue order, numbered across the whole queue."""
    order = Run.objects.filter(status=RunStatus.QUEUED).order_by("-priority", "created", "pk")
    position = {pk: i for i, pk in enumerate(order.values_list("pk", flat=True), start=1)}
    runs = order.filter(workspace__in=workspaces).select_related("workspace", "created_by")
    return [QueueEntry(run, position.get(run.pk, 0), stored_need(run), waiting_reason(run)) for run in runs]


# --- steering ---------------------------------------------------------------------


def move_run(run: Run, where: str, user) -> bool:
    """Put a queued run first or last in the queue; False when it is no longer queued."""
    if where not in ("top", "bottom"):
        raise ValueError(where)
    with transaction.atomic():
        bounds = (
            Run.objects.filter(status=RunStatus.QUEUED)
            .exclude(pk=run.pk)
            .aggregate(hi=Max("priority"), lo=Min("priority"))
        )
        if where == "top":
            priority = (bounds["hi"] if bounds["hi"] is not None else 0) + 1
        else:
            priority = (bounds["lo"] if bounds["lo"] is not None else 0) - 1
        moved = Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(priority=priority)
        if moved:
            who = getattr(user, "username", None) or "someone"
            record_event(run, ev.log("", f"Moved to the {where} of the queue by {who}"))
            notify.notify_run(run.pk, notify.STATUS)
    return bool(moved)


def set_queue_paused(workspace: Workspace, paused: bool, user) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(queue_paused=paused)
    workspace.queue_paused = paused
    if not paused:  # wake a worker for what waited
        first = (
            Run.objects.filter(workspace=workspace, status=RunStatus.QUEUED)
            .order_by("-priority", "created")
            .values_list("pk", flat=True)
            .first()
        )
        if first is not None:
            transaction.on_commit(lambda: run_queue.schedule_run(first))
