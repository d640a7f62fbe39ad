"""The fleet: worker processes, the GPUs each one has, and which run holds which GPU.

A worker registers itself when it starts (``training.worker.hardware``) and beats every
``COMPOSE_HEARTBEAT_S``; one silent for ``COMPOSE_STALE_AFTER_S`` is *lost* and its runs
follow the interrupted path (``training.actions.worker.mark_stale_runs``). A GPU row is
held by at most one run at a time: ``Gpu.run`` is set in the claim's transaction and
cleared in the same transaction as the run's end, however it ends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from training.models.run import Run


class WorkerStatus(models.TextChoices):
    ONLINE = "online", "Online"
    STOPPED = "stopped", "Stopped"  # said goodbye
    LOST = "lost", "Lost"  # stopped beating


class Worker(models.Model):
    name = models.CharField(max_length=200, unique=True)
    host = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    cpu_count = models.PositiveIntegerField(default=0)
    # Free space of the storage folder when it last beat.
    disk_free_bytes = models.BigIntegerField(null=True, blank=True)
    labels = models.JSONField(default=list, blank=True)
    # Its GPUs are pretended (COMPOSE_FAKE_GPUS): shown as such on the Fleet page.
    fake_gpus = models.BooleanField(default=False)
    # Runs it executes at once at most (its Huey worker threads).
    slots = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=WorkerStatus.choices, default=WorkerStatus.ONLINE)
    started = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    busy: int  # not a column: the fleet page counts the GPUs held for its template

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        if self.status != WorkerStatus.ONLINE:
            return False
        return self.last_seen >= timezone.now() - timedelta(seconds=settings.COMPOSE_STALE_AFTER_S)


class Gpu(models.Model):
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="gpus")
    index = models.PositiveIntegerField()  # as CUDA_VISIBLE_DEVICES names it
    name = models.CharField(max_length=200, blank=True)
    memory_mb = models.PositiveIntegerField(default=0)
    run = models.ForeignKey("training.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="gpus")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Not a column: the run as the fleet page shows it to one person (None for another team's).
    visible_run: Run | None

    class Meta:
        ordering = ["worker", "index"]
        constraints = [models.UniqueConstraint(fields=["worker", "index"], name="unique_gpu_per_worker")]

    def __str__(self) -> str:
        return f"{self.worker.name} GPU {self.index}"
