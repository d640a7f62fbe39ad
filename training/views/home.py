"""The list of a user's workspaces, and a workspace's home page."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from training.models import Run
from training.models.access import get_workspace_or_404, workspaces_for

from .common import headline_metric, with_headline

LATEST_RUNS = 20


def home(request: HttpRequest) -> HttpResponse:
    workspaces = list(workspaces_for(request.user).order_by("name"))
    if len(workspaces) == 1:
        return redirect("training:workspace", slug=workspaces[0].slug)
    return render(request, "training/workspace_list.html", {"workspaces": workspaces})


def workspace(request: HttpRequest, slug: str) -> HttpResponse:
    ws = get_workspace_or_404(request.user, slug)
    latest = Run.objects.filter(document=OuterRef("pk")).order_by("-created")
    documents = (
        ws.documents.select_related("updated_by")
        .order_by("-updated_at")
        .annotate(
            last_run_id=Subquery(latest.values("pk")[:1]),
            last_run_status=Subquery(latest.values("status")[:1]),
            last_run_created=Subquery(latest.values("created")[:1]),
        )
    )
    runs = list(with_headline(ws.runs.select_related("document", "created_by")).order_by("-created")[:LATEST_RUNS])
    for run in runs:
        run.headline = headline_metric(run)
    return render(
        request,
        "training/workspace.html",
        {
            "workspace": ws,
            "documents": documents,
            "runs": runs,
        },
    )
