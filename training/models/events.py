"""What a run reported: every event in order, plus tables derived for charts and lists."""

from __future__ import annotations

from typing import Any

from django.db import models

from training.models.run import Run


class RunEvent(models.Model):
    """One compose event record (see ``compose.events``), numbered per run from 1.

    ``seq`` has no gaps: the browser replays from its last seq after a reconnect.
    ``payload`` is the full record as the runner emitted it (secrets redacted).
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=20)
    job_id = models.CharField(max_length=200, blank=True)
    payload = models.JSONField()
    ts = models.DateTimeField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="unique_event_seq")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} {self.job_id}"


class MetricPoint(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metrics")
    job_id = models.CharField(max_length=200)
    step = models.BigIntegerField()
    epoch = models.FloatField(null=True, blank=True)
    split = models.CharField(max_length=10, default="train")
    name = models.CharField(max_length=50)
    value = models.FloatField(null=True)

    class Meta:
        ordering = ["run", "job_id", "name", "step"]
        indexes = [models.Index(fields=["run", "job_id", "name", "step"], name="metric_series")]

    def __str__(self) -> str:
        return f"{self.name}@{self.step}={self.value}"


def metric_series(run: Run | int) -> list[dict[str, Any]]:
    """Every metric of a run as a series per job, name and split (train or eval), in step
    order: ``[{"job", "name", "split", "points": [{"step", "epoch", "value"}]}]``."""
    run_id = run.pk if isinstance(run, Run) else run
    series: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    points = MetricPoint.objects.filter(run_id=run_id).order_by("job_id", "name", "split", "step", "id")
    for job, name, split, step, epoch, value in points.values_list("job_id", "name", "split", "step", "epoch", "value"):
        series.setdefault((job, name, split), []).append({"step": step, "epoch": epoch, "value": value})
    return [
        {"job": job, "name": name, "split": split, "points": points} for (job, name, split), points in series.items()
    ]


class Artifact(models.Model):
    class Kind(models.TextChoices):
        CHECKPOINT = "checkpoint", "Checkpoint"
        MODEL = "model", "Model"
        ADAPTER = "adapter", "Adapter"
        DATASET = "dataset", "Data set"
        TENSORBOARD = "tensorboard", "TensorBoard logs"
        CONFIG = "config", "Config"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="artifacts")
    job_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    path = models.CharField(max_length=1000)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    step = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # When its files were removed (``training.actions.outputs``); the row stays as the record.
    deleted = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"
