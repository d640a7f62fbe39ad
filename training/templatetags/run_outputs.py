"""The run page's outputs block: the run folder's size on disk, its download, deleting it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django import template
from django.db.models import Max

from compose.confine import is_inside
from training.models.access import may_delete_outputs
from training.run_files import folder_bytes, workspace_roots

register = template.Library()


@register.inclusion_tag("training/_run_outputs.html", takes_context=True)
def run_outputs(context: template.Context, run: Any) -> dict[str, Any]:
    # Counted on each page load: a walk of the folder's entries, no file is read.
    real = Path(os.path.realpath(run.folder))
    present = real.is_dir() and is_inside(real, workspace_roots(run.workspace))
    user = getattr(context.get("request"), "user", None)
    live = run.artifacts.filter(deleted__isnull=True).exists()
    return {
        "run": run,
        "present": present,
        "disk_bytes": folder_bytes(real) if present else None,
        "deleted": run.artifacts.aggregate(at=Max("deleted"))["at"],
        "can_delete": (present or live) and run.is_final and may_delete_outputs(user, run),
    }
