"""A run's outputs: the run page's artifacts part, and deleting them (a page that lists what
goes, and the POST that removes it)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_safe

from training.actions.outputs import OutputsInUse, delete_outputs, plan_deletion
from training.models.access import get_run_or_404, may_delete_outputs


@require_safe
def run_files(request: HttpRequest, pk: int) -> HttpResponse:
    """The run page's artifacts table and outputs strip, rendered as the page renders them. The
    page's script fetches it when a job writes an artifact and when the run ends: its download
    links, the run folder's disk use and Delete outputs… come from here, not from the events."""
    run = get_run_or_404(request.user, pk)
    return render(
        request,
        "training/_run_files.html",
        {
            "run": run,
            "artifacts": list(run.artifacts.order_by("created", "id")),
        },
    )


def run_delete_outputs(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page; POST: delete. A member who is not an owner gets 403:
    they can see the run, so hiding it behind a 404 would only confuse."""
    run = get_run_or_404(request.user, pk)
    if not may_delete_outputs(request.user, run):
        raise PermissionDenied("Only an owner of the workspace can delete a run's outputs.")
    if not run.is_final:
        messages.error(request, f"Run {run.pk} is {run.status}: its outputs can be deleted once it has ended.")
        return redirect("training:run", pk=run.pk)
    if request.method == "POST":
        try:
            done = delete_outputs(run, request.user)
        except OutputsInUse as exc:
            messages.error(request, f"Cannot delete: {exc}.")
        else:
            for failure in done.failed:
                messages.error(request, f"Not removed: {failure}")
            messages.success(request, f"Deleted this run's outputs: {filesizeformat(done.bytes)} freed.")
        return redirect("training:run", pk=run.pk)
    return render(
        request,
        "training/run_delete_outputs.html",
        {
            "run": run,
            "workspace": run.workspace,
            "plan": plan_deletion(run),
        },
    )
