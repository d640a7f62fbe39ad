"""This worker process in the fleet: its registration, its beat, placement's loop, and
where a queued run's task comes in (:func:`execute_run`).

One row per worker process (``Worker``), written when the process first needs it and
refreshed every ``COMPOSE_HEARTBEAT_S`` by :class:`FleetBeat`. With placement on, the
beat also takes the next run this worker can hold whenever it has a free slot, so a
run waiting for GPUs starts as soon as they are let go, whichever worker's task woke.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from compose.jobspec import JobExecutor
from training.actions import claim_run, mark_stale_runs
from training.actions.placement import claim_gpus_embedded, place_next
from training.models import Gpu, Run, RunStatus, Worker, WorkerStatus
from training.worker import hardware
from training.worker.execute import active_count, run_claimed, worker_name

log = logging.getLogger(__name__)

# Stopped and lost workers stay on the Fleet page this long.
FORGET_AFTER = timedelta(days=1)

_lock = threading.Lock()
_registered: dict[str, Worker] = {}
_beat: FleetBeat | None = None


def register(name: str) -> Worker:
    """This process's worker row (created or refreshed once per process and name)."""
    with _lock:
        worker = _registered.get(name)
        if worker is not None:
            return worker
        gpus, fake = hardware.inventory(settings.COMPOSE_FAKE_GPUS)
        now = timezone.now()
        with transaction.atomic():
            worker, _ = Worker.objects.update_or_create(
                name=name,
                defaults=dict(
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    cpu_count=hardware.cpu_count(),
                    disk_free_bytes=hardware.disk_free_bytes(settings.COMPOSE_STORAGE_DIR),
                    labels=list(settings.COMPOSE_WORKER_LABELS),
                    fake_gpus=fake,
                    slots=max(1, int(settings.HUEY.get("consumer", {}).get("workers", 1))),
                    status=WorkerStatus.ONLINE,
                    started=now,
                    last_seen=now,
                ),
            )
            known = {g.index: g for g in Gpu.objects.select_for_update().filter(worker=worker)}
            for gpu in gpus:
                row = known.pop(gpu.index, None)
                if row is None:
                    Gpu.objects.create(worker=worker, index=gpu.index, name=gpu.name, memory_mb=gpu.memory_mb)
                else:
                    Gpu.objects.filter(pk=row.pk).update(name=gpu.name, memory_mb=gpu.memory_mb)
            Gpu.objects.filter(pk__in=[g.pk for g in known.values()]).delete()
            # A restarted worker of the same name holds nothing yet: what an earlier process
            # of it held belongs to runs that are ending (their heartbeat stopped).
            Gpu.objects.filter(worker=worker).exclude(run__status=RunStatus.RUNNING).update(run=None, claimed_at=None)
        _registered[name] = worker
        return worker


def beat(name: str) -> bool:
    """Refresh this worker's row; False when it is gone (forgotten while this process stalled)."""
    return bool(
        Worker.objects.filter(name=name).update(
            last_seen=timezone.now(),
            status=WorkerStatus.ONLINE,
            disk_free_bytes=hardware.disk_free_bytes(settings.COMPOSE_STORAGE_DIR),
        )
    )


def goodbye(name: str) -> None:
    Worker.objects.filter(name=name).update(status=WorkerStatus.STOPPED, last_seen=timezone.now())


def mark_lost_workers(stale_after_s: float) -> list[str]:
    """Workers silent for longer than ``stale_after_s`` are lost; their runs are marked
    interrupted by the same check on the runs' own heartbeats."""
    cutoff = timezone.now() - timedelta(seconds=stale_after_s)
    lost = list(Worker.objects.filter(status=WorkerStatus.ONLINE, last_seen__lt=cutoff).values_list("name", flat=True))
    if lost:
        Worker.objects.filter(name__in=lost, last_seen__lt=cutoff).update(status=WorkerStatus.LOST)
        log.warning("lost worker(s): %s", lost)
    # A worker named host:pid gets a new row each start: forget the old ones after a day.
    Worker.objects.exclude(status=WorkerStatus.ONLINE).filter(last_seen__lt=timezone.now() - FORGET_AFTER).exclude(
        gpus__run__isnull=False
    ).delete()
    return lost


def free_slots(worker: Worker) -> int:
    return worker.slots - active_count()


def execute_run(run_id: int, *, executor: JobExecutor | None = None, worker: str | None = None) -> str:
    """Claim run ``run_id`` and run its workflow; return the status it ended with.

    Returns ``"skipped"`` when the run was not queued (another worker took it, or it
    was cancelled before it started). With placement on (``COMPOSE_PLACEMENT``) the task
    is a wake-up: this worker takes the first queued runs it can hold now, in queue order
    (``"waiting"`` when none fits); a task run in the caller's process takes only its run.
    """
    worker = worker or worker_name()
    if settings.COMPOSE_PLACEMENT:
        return dispatch(worker, only_run=run_id if HUEY.immediate else None, executor=executor)
    if not claim_run(run_id, worker):
        log.info("run %s was not queued any more; skipped", run_id)
        return "skipped"
    gpus = embedded_gpus(run_id, worker)
    return run_claimed(run_id, worker, gpus=gpus, executor=executor)


def dispatch(name: str, only_run: int | None = None, executor=None) -> str:
    """Take and execute, in this thread, runs this worker can hold, one after another.

    Returns the status of the last run it executed, or ``"waiting"`` when it found none
    it could hold now."""
    worker = register(name)
    status = "waiting"
    while only_run is not None or free_slots(worker) > 0:
        placed = place_next(worker, only_run=only_run)
        if placed is None:
            if only_run is not None and not Run.objects.filter(pk=only_run, status=RunStatus.QUEUED).exists():
                status = "skipped"  # another worker took it, or it was cancelled
            break
        run_id, gpus = placed
        status = run_claimed(run_id, name, gpus=gpus, executor=executor)
        if only_run is not None:
            break
    return status


def embedded_gpus(run_id: int, name: str) -> list[int] | None:
    """GPUs for a run the embedded worker claimed the old way: only in a worker process that
    registered (not a task run in the caller's process), and only for a run that needs
    some; None otherwise, which leaves the environment as it always was."""
    worker = _registered.get(name)
    if worker is None:
        return None
    need = Run.objects.values_list("need_gpus", flat=True).get(pk=run_id)
    return claim_gpus_embedded(run_id, worker, need) or None


class FleetBeat(threading.Thread):
    """Keeps this worker's row fresh, notices lost peers, and starts runs that fit."""

    def __init__(self, name: str, interval_s: float):
        super().__init__(name="fleet-beat", daemon=True)
        self.worker_name = name
        self.interval_s = interval_s
        self._halt = threading.Event()

    def run(self) -> None:
        next_stale_check = 0.0
        try:
            while not self._halt.wait(self.interval_s):
                try:
                    if not beat(self.worker_name):
                        with _lock:
                            _registered.pop(self.worker_name, None)
                    worker = register(self.worker_name)
                    if time.monotonic() >= next_stale_check:
                        next_stale_check = time.monotonic() + settings.COMPOSE_STALE_AFTER_S / 2
                        mark_stale_runs(settings.COMPOSE_STALE_AFTER_S)
                        mark_lost_workers(settings.COMPOSE_STALE_AFTER_S)
                    if settings.COMPOSE_PLACEMENT and free_slots(worker) > 0 and _anything_queued():
                        self._start_one(worker)
                except Exception:
                    log.warning("fleet beat of %s failed", self.worker_name, exc_info=True)
                    connection.close()  # a broken connection is opened again next time
        finally:
            connection.close()

    def _start_one(self, worker: Worker) -> None:
        placed = place_next(worker)
        if placed is None:
            return
        run_id, gpus = placed

        def work() -> None:
            try:
                run_claimed(run_id, self.worker_name, gpus=gpus)
            finally:
                connection.close()

        threading.Thread(target=work, name=f"run-{run_id}", daemon=True).start()

    def stop(self) -> None:
        self._halt.set()


def _anything_queued() -> bool:
    return Run.objects.filter(status=RunStatus.QUEUED, workspace__queue_paused=False).exists()


def start_beat(name: str) -> None:
    """Register this worker process and start its beat (once per process)."""
    global _beat
    register(name)
    with _lock:
        if _beat is None:
            _beat = FleetBeat(name, settings.COMPOSE_HEARTBEAT_S)
            _beat.start()


def stop_beat(name: str) -> None:
    global _beat
    with _lock:
        if _beat is not None:
            _beat.stop()
            _beat = None
    try:
        goodbye(name)
    except Exception:
        log.warning("could not mark worker %s stopped", name, exc_info=True)
