"""Who may see what: a user sees the documents and runs of the workspaces they belong to.

Views call these instead of filtering by hand, so the rule lives in one place.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from training.models.document import ComposeDocument
from training.models.events import RunEvent
from training.models.run import Run
from training.models.workspace import Membership, Workspace


def workspaces_for(user) -> QuerySet[Workspace]:
    if not getattr(user, "is_authenticated", False):
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user=user).distinct()


def documents_for(user) -> QuerySet[ComposeDocument]:
    return ComposeDocument.objects.filter(workspace__in=workspaces_for(user))


def runs_for(user) -> QuerySet[Run]:
    return Run.objects.filter(workspace__in=workspaces_for(user))


def is_member(user, workspace: Workspace) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False))
        and Membership.objects.filter(user=user, workspace=workspace).exists()
    )


def is_owner(user, workspace: Workspace) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False))
        and Membership.objects.filter(user=user, workspace=workspace, role=Membership.Role.OWNER).exists()
    )


def may_delete_outputs(user, run: Run) -> bool:
    """Removing a run's files cannot be undone: staff, or an owner of its workspace."""
    return bool(getattr(user, "is_staff", False)) or is_owner(user, run.workspace)


def get_workspace_or_404(user, slug: str) -> Workspace:
    try:
        return workspaces_for(user).get(slug=slug)
    except Workspace.DoesNotExist:
        raise Http404("No such workspace") from None


def get_document_or_404(user, document_id: int) -> ComposeDocument:
    try:
        return documents_for(user).select_related("workspace").get(pk=document_id)
    except (ComposeDocument.DoesNotExist, ValueError):
        raise Http404("No such document") from None


def get_run_or_404(user, run_id: int) -> Run:
    try:
        return runs_for(user).select_related("workspace", "document").get(pk=run_id)
    except (Run.DoesNotExist, ValueError):
        raise Http404("No such run") from None


def events_after(run: Run | int, seq: int, limit: int = 500) -> list[RunEvent]:
    """The run's events with ``seq > seq``, oldest first, at most ``limit``."""
    run_id = run.pk if isinstance(run, Run) else run
    return list(RunEvent.objects.filter(run_id=run_id, seq__gt=seq).order_by("seq")[:limit])
