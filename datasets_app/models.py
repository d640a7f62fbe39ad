from __future__ import annotations

from django.db import models


class MaterializedDataset(models.Model):
    """A data set saved on disk by a datasets job, addressed by content fingerprint.

    ``path`` is relative to the storage folder (``COMPOSE_STORAGE_DIR``) so every
    worker that mounts it finds the same files. A rerun that produces the same
    fingerprint reuses the folder and only bumps ``last_used``.
    """

    fingerprint = models.CharField(max_length=128, unique=True)
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

    def __str__(self) -> str:
        return f"{self.fingerprint[:12]} ({self.num_rows} rows)"
