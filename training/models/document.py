from __future__ import annotations

from django.conf import settings
from django.db import models

from training.models.workspace import Workspace


class ComposeDocument(models.Model):
    """A compose file as its author wrote it, plus a summary for listing pages.

    ``yaml_text`` is kept verbatim (comments, key order). ``definition`` is derived from
    it on every save by the action functions: ``{"components": [{"id", "type", "task"}],
    "workflows": [{"id", "title", "jobs": [...], "inputs": {...}}], "problems": [...]}``.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField(max_length=200)
    yaml_text = models.TextField(blank=True)
    definition = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_document_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_valid(self) -> bool:
        return not any(p.get("severity", "error") == "error" for p in self.definition.get("problems", []))

    def workflow_ids(self) -> list[str]:
        return [w["id"] for w in self.definition.get("workflows", [])]
