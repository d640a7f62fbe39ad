from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models

from training.models.document import ComposeDocument
from training.models.workspace import Workspace


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    INTERRUPTED = "interrupted", "Interrupted"


class Run(models.Model):
    """One execution of a workflow, from the queue to its end.

    State machine (only the functions in ``training.actions`` change ``status``)::

        queued ──claim_run──> running ──finish_run──> succeeded | failed | cancelled
          │                      │
          │                      └──mark_interrupted──> interrupted ──retry──> queued
          │                          (the worker stopped sending heartbeats or was stopped;
          │                           queued again while attempts are left)
          └──request_cancel──> cancelled   (never started)

    ``succeeded``, ``failed``, ``cancelled`` and ``interrupted`` are final, but for an
    interrupted run's automatic retry (same run, ``attempt`` + 1: finished jobs are kept,
    trainers continue from their last checkpoint). A rerun is a new Run with the same
    snapshot and inputs; a resumed run (``resumed_from``) also continues its parent's
    checkpoints. Cancelling a running run only sets
    ``cancel_requested``; the worker sees it on its next heartbeat, stops the job's
    processes and finishes the run as ``cancelled``.
    """

    Status = RunStatus
    FINAL: frozenset[str] = frozenset(
        {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.INTERRUPTED}
    )

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="runs")
    document = models.ForeignKey(ComposeDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    workflow_id = models.CharField(max_length=200)
    # The compose file exactly as it was when the run was queued.
    yaml_snapshot = models.TextField()
    inputs = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    # A run made by Resume continues this one from its last checkpoint.
    resumed_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resumed_as"
    )
    # Which try this is: a run interrupted by a lost worker is queued again by itself, up
    # to COMPOSE_MAX_ATTEMPTS, and continues where its jobs stopped.
    attempt = models.PositiveIntegerField(default=1)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")
    # One of the runs a sweep queued together (every combination of some inputs' values).
    sweep = models.ForeignKey("training.Sweep", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What it needs to run, from its jobs (compose.need.run_need), fixed
    # when it is queued: a worker takes it only when it can hold that now.
    need_gpus = models.PositiveIntegerField(default=0)
    need_labels = models.JSONField(default=list, blank=True)
    need_gpu_memory_gb = models.FloatField(null=True, blank=True)
    # Queue order: higher first, then the older. Move to top / bottom changes it.
    priority = models.IntegerField(default=0)
    # Highest RunEvent.seq written so far; bumped in the same transaction as the insert.
    last_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat")]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.workflow_id}, {self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    def live_state(self) -> dict[str, Any]:
        """The run page's header and job plan, as the replay endpoint and the websocket send it.

        ``jobs`` lists every job of the workflow in order once a worker has taken the run,
        so a page opened while it was queued shows the whole plan as soon as it starts.
        """
        return {
            "status": self.status,
            "attempt": self.attempt,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "cancel_requested": self.cancel_requested,
            "error": self.error,
            "jobs": [
                {"job": job_id, "component": component_id, "status": status, "message": message}
                for job_id, component_id, status, message in self.job_runs.values_list(
                    "job_id", "component_id", "status", "message"
                )
            ],
        }

    @property
    def folder(self) -> Path:
        """The run's own folder, ``<workspace>/runs/<run id>/``: every path its jobs write
        (``output_dir``, ``cache_dir``) resolves under it, so no two runs share outputs."""
        return self.workspace.root / "runs" / str(self.pk)


class JobRunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    SKIPPED = "skipped", "Skipped"  # never started: a job it needs failed, or the run was cancelled


class JobRun(models.Model):
    """One job of a run; created ``pending`` for every job when the run starts."""

    Status = JobRunStatus

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="job_runs")
    job_id = models.CharField(max_length=200)
    component_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=JobRunStatus.choices, default=JobRunStatus.PENDING)
    message = models.TextField(blank=True)
    progress_current = models.BigIntegerField(null=True, blank=True)
    progress_total = models.BigIntegerField(null=True, blank=True)
    progress_unit = models.CharField(max_length=20, blank=True)
    progress_stage = models.CharField(max_length=100, blank=True)
    output = models.JSONField(null=True, blank=True)
    # The job's fields as it received them: bindings resolved, workspace defaults filled
    # in, secrets masked, data sets summarized: the engine's config event (compose.events).
    config = models.JSONField(null=True, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["run", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "job_id"], name="unique_job_per_run")]

    def __str__(self) -> str:
        return f"{self.job_id} ({self.status})"
