from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from training.models.document import ComposeDocument
from training.models.workspace import Workspace


class Sweep(models.Model):
    """Runs queued together from one run form: every combination of several values of
    some inputs (``values``: {input: [value, ...]}); each is a Run with ``sweep`` set."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="sweeps")
    document = models.ForeignKey(
        ComposeDocument, null=True, blank=True, on_delete=models.SET_NULL, related_name="sweeps"
    )
    workflow_id = models.CharField(max_length=200)
    # The swept inputs and their values, typed, in the order the grid was made.
    values = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sweeps"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Sweep {self.pk} ({self.workflow_id}: {', '.join(self.values)})"

    def compare_ids(self, most: int, around: int | None = None) -> list[int]:
        """At most ``most`` of the sweep's run ids, oldest first: the first ones, or the
        window of its neighbours around run ``around``."""
        ids = list(self.runs.order_by("pk").values_list("pk", flat=True))
        if len(ids) <= most:
            return ids
        start = 0
        if around in ids:
            start = min(max(0, ids.index(around) - most // 2), len(ids) - most)
        return ids[start : start + most]

    def compare_url(self, most: int, around: int | None = None) -> str | None:
        """The compare page of (at most ``most`` of) the sweep's runs; None for a sweep of one run."""
        ids = self.compare_ids(most, around)
        if len(ids) < 2:
            return None
        return reverse("training:compare", args=[self.workspace.slug]) + "?runs=" + ",".join(map(str, ids))
