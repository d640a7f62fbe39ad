"""Deleting a run's outputs: its folder and the artifact files it wrote; the record stays.

What goes is decided by :func:`plan_deletion`, so the confirmation page lists exactly what
:func:`delete_outputs` then removes. Only paths inside the workspace's own folder are ever
removed, and none that holds another run's folder or the workspace's data set storage:
a materialized data set is shared by every run that reuses its fingerprint, so it is kept.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from training.models import Artifact, Run
from training.models.access import may_delete_outputs
from training.run_files import artifact_location, folder_bytes

log = logging.getLogger(__name__)


class OutputsInUse(Exception):
    """The run is queued or running (its jobs may still write the files), or a run resumed
    from it is (it continues from this run's checkpoints)."""

    def __init__(self, run_id: int, why: str, until: str = "it"):
        self.run_id = run_id
        super().__init__(f"run {run_id} {why}; its outputs can be deleted once {until} has ended")


@dataclass
class OutputsPlan:
    """What deleting a run's outputs removes (``targets``, ``bytes`` in all), which
    artifact rows it marks deleted, and the artifacts it leaves alone."""

    targets: list[Path] = field(default_factory=list)
    bytes: int = 0
    artifact_ids: list[int] = field(default_factory=list)
    kept: list[Artifact] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # filled by delete_outputs: "path: reason"


def plan_deletion(run: Run) -> OutputsPlan:
    root = Path(os.path.realpath(run.workspace.root))
    storage = Path(os.path.realpath(run.workspace.storage))
    own = _target(run.folder)
    plan = OutputsPlan()
    wanted: list[Path] = []
    if _removable(own, root, storage, own):
        wanted.append(own)
    for artifact in run.artifacts.filter(deleted__isnull=True).order_by("id"):
        target = _target(artifact_location(run, artifact.path))
        if _removable(target, root, storage, own):
            wanted.append(target)
            plan.artifact_ids.append(artifact.pk)
        else:
            plan.kept.append(artifact)
    # A path inside another one goes with it: list each folder once.
    for target in sorted({t for t in wanted if os.path.lexists(t)}, key=lambda p: (len(p.parts), str(p))):
        if not any(t == target or t in target.parents for t in plan.targets):
            plan.targets.append(target)
    plan.bytes = sum(folder_bytes(t) for t in plan.targets)
    return plan


def delete_outputs(run: Run, user) -> OutputsPlan:
    """Remove the run's folder and its artifact files inside the workspace, and mark
    those artifacts deleted. The run, its jobs, events and metrics are kept.

    Raises ``PermissionDenied`` unless ``user`` is staff or an owner of the workspace, and
    :class:`OutputsInUse` while the run, or a run resumed from it, is queued or running. (An
    interrupted run that is retried becomes queued in the transaction that interrupts it,
    so one seen interrupted stays so.) A path that cannot be removed is reported in
    ``failed``; its artifacts stay as they were.
    """
    if not may_delete_outputs(user, run):
        raise PermissionDenied("only an owner of the workspace or staff can delete a run's outputs")
    status = Run.objects.values_list("status", flat=True).get(pk=run.pk)
    if status not in Run.FINAL:
        raise OutputsInUse(run.pk, f"is {status}")
    child = Run.objects.filter(resumed_from=run.pk).exclude(status__in=Run.FINAL).first()
    if child is not None:
        raise OutputsInUse(run.pk, f"is being resumed by run {child.pk} ({child.status})", f"run {child.pk}")
    plan = plan_deletion(run)
    for target in plan.targets:
        try:
            _remove(target)
        except OSError as exc:
            plan.failed.append(f"{target}: {exc.strerror or exc}")
    gone = [pk for pk, target in _artifact_targets(run, plan.artifact_ids) if not os.path.lexists(target)]
    Artifact.objects.filter(pk__in=gone, deleted__isnull=True).update(deleted=timezone.now())
    log.info(
        "outputs of run %s deleted by %s: %d bytes, %d artifact(s), %d failure(s)",
        run.pk,
        getattr(user, "username", user),
        plan.bytes,
        len(gone),
        len(plan.failed),
    )
    return plan


def _target(path: Path) -> Path:
    """``path`` with its folders' symlinks resolved but not its own last part: removing a
    symlink removes the link, never what it points to."""
    return Path(os.path.realpath(path.parent)) / path.name


def _removable(target: Path, root: Path, storage: Path, own: Path) -> bool:
    if root not in target.parents:
        return False  # outside the workspace, or the workspace itself
    if target == storage or storage in target.parents or target in storage.parents:
        return False  # data sets are shared between runs
    runs = root / "runs"
    if target == runs or target in runs.parents:
        return False
    # Under runs/ only this run's own folder.
    return runs not in target.parents or target == own or own in target.parents


def _remove(target: Path) -> None:
    if target.is_symlink() or not target.is_dir():
        target.unlink(missing_ok=True)
        return

    def missing_is_fine(func, path, exc_info) -> None:
        if not isinstance(exc_info[1], FileNotFoundError):  # removed meanwhile: what we wanted
            raise exc_info[1]

    shutil.rmtree(target, onerror=missing_is_fine)


def _artifact_targets(run: Run, ids: list[int]) -> list[tuple[int, Path]]:
    rows = Artifact.objects.filter(pk__in=ids).values_list("pk", "path")
    return [(pk, _target(artifact_location(run, path))) for pk, path in rows]
