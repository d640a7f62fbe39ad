from __future__ import annotations

from django.db import models


class MaterializedDataset(models.Model):
    """A data set saved on disk by a datasets job, addressed by content fingerprint.

    It belongs to the workspace whose run made it: ``path`` is relative to that
    workspace's storage folder (``Workspace.storage``, under ``COMPOSE_STORAGE_DIR``) so
    every worker that mounts it finds the same files, and a job of another workspace
    cannot name it. A rerun that produces the same fingerprint reuses the folder and
    only bumps ``last_used``.
    """

    workspace = models.ForeignKey("training.Workspace", on_delete=models.CASCADE, null=True, related_name="datasets")
    fingerprint = models.CharField(max_length=128)
    path = models.CharField(max_length=1000)
    num_rows = models.BigIntegerField(null=True, blank=True)
    columns = models.JSONField(default=dict, blank=True)
    preview = models.JSONField(default=list, blank=True)
    sft_format = models.CharField(max_length=40, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_used"]
        verbose_name = "materialized data set"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "fingerprint"], name="unique_dataset_per_workspace")
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint[:12]} ({self.num_rows} rows)"
