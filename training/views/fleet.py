"""The Fleet page (workers, their GPUs, who holds which) and the Queue page (order, needs,
why each run waits) with its steering: move to top or bottom, cancel, pause a workspace."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from training import actions
from training.actions.placement import move_run, queue_for, set_queue_paused
from training.models import Gpu, Worker, Workspace
from training.models.access import get_run_or_404, get_workspace_or_404, is_owner, workspaces_for


def _may_steer(user, workspace: Workspace) -> bool:
    return bool(getattr(user, "is_staff", False)) or is_owner(user, workspace)


def fleet(request: HttpRequest) -> HttpResponse:
    """Staff and members of any workspace see the fleet; it has nothing to change."""
    mine = set(workspaces_for(request.user).values_list("pk", flat=True))
    if not (request.user.is_staff or mine):
        raise Http404
    workers = list(Worker.objects.prefetch_related("gpus__run"))
    for worker in workers:
        for gpu in worker.gpus.all():
            # A run of another team is named by number only.
            gpu.visible_run = gpu.run if gpu.run and (request.user.is_staff or gpu.run.workspace_id in mine) else None
        worker.busy = sum(1 for g in worker.gpus.all() if g.run_id)
    return render(
        request,
        "training/fleet.html",
        {
            "workers": workers,
            "total_gpus": Gpu.objects.count(),
            "busy_gpus": Gpu.objects.filter(run__isnull=False).count(),
        },
    )


def queue(request: HttpRequest) -> HttpResponse:
    spaces = list(Workspace.objects.all() if request.user.is_staff else workspaces_for(request.user))
    entries = queue_for(spaces)
    for entry in entries:
        entry.may_steer = _may_steer(request.user, entry.run.workspace)
    steerable = [ws for ws in spaces if _may_steer(request.user, ws)]
    return render(
        request,
        "training/queue.html",
        {
            "entries": entries,
            "workspaces": spaces,
            "steerable": steerable,
        },
    )


@require_POST
def queue_move(request: HttpRequest, pk: int, where: str) -> HttpResponse:
    run = get_run_or_404(request.user, pk)
    if not _may_steer(request.user, run.workspace):
        messages.error(request, "Only an owner of the workspace, or staff, can reorder its runs.")
    elif where not in ("top", "bottom"):
        raise Http404
    elif move_run(run, where, request.user):
        messages.info(request, f"Run {run.pk} moved to the {where} of the queue.")
    else:
        messages.error(request, f"Run {run.pk} is no longer queued.")
    return redirect("training:queue")


@require_POST
def queue_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_run_or_404(request.user, pk)
    try:
        actions.request_cancel(run, request.user)
    except actions.InvalidTransition as exc:
        messages.error(request, f"Cannot cancel: {exc}.")
    else:
        messages.info(request, f"Run {run.pk} cancelled.")
    return redirect("training:queue")


@require_POST
def queue_pause(request: HttpRequest, slug: str, state: str) -> HttpResponse:
    ws = (
        get_workspace_or_404(request.user, slug)
        if not request.user.is_staff
        else Workspace.objects.filter(slug=slug).first()
    )
    if ws is None or state not in ("pause", "resume"):
        raise Http404
    if not _may_steer(request.user, ws):
        messages.error(request, "Only an owner of the workspace, or staff, can pause its queue.")
    else:
        set_queue_paused(ws, state == "pause", request.user)
        messages.info(request, f"The queue of {ws.name} is {'paused' if state == 'pause' else 'running again'}.")
    return redirect("training:queue")
