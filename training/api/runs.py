"""Runs: create from a document's workflow, list with filters, get, cancel, resume, rerun."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from training import actions
from training.api.core import ErrorBody, RunCreateThrottle
from training.api.schemas import RunCreate, RunDetail, RunOut, SweepCreate, SweepOut
from training.models import RunStatus
from training.models.access import get_document_or_404, get_run_or_404, get_workspace_or_404, runs_for
from training.views.compare import MAX_RUNS as COMPARE_MAX_RUNS

router = Router(tags=["runs"])
ERRORS = {400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody}


@router.post("/runs", response={201: RunDetail, **ERRORS}, throttle=[RunCreateThrottle()])
def create_run(request: HttpRequest, payload: RunCreate):
    """Queue a run of the document's workflow; refused (400) with every problem when it cannot run."""
    document = get_document_or_404(request.user, payload.document)
    run = actions.enqueue_run(document, payload.workflow or None, payload.inputs, request.user)
    return Status(201, get_run_or_404(request.user, run.pk))


@router.post("/sweeps", response={201: SweepOut, **ERRORS}, throttle=[RunCreateThrottle()])
def create_sweep(request: HttpRequest, payload: SweepCreate):
    """Queue a run for every combination of the swept inputs' values, or none (400 with every problem)."""
    document = get_document_or_404(request.user, payload.document)
    sweep = actions.enqueue_sweep(document, payload.workflow or None, payload.inputs, payload.sweep, request.user)
    body = {
        "id": sweep.pk,
        "workspace": document.workspace.slug,
        "workflow": sweep.workflow_id,
        "values": sweep.values,
        "runs": list(sweep.runs.order_by("pk").values_list("pk", flat=True)),
        "compare": request.build_absolute_uri(url) if (url := sweep.compare_url(COMPARE_MAX_RUNS)) else None,
    }
    return Status(201, body)


class RunFilters(Schema):
    workspace: str | None = None
    status: list[RunStatus] | None = None
    document: int | None = None
    user: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@router.get("/runs", response={200: list[RunOut], 401: ErrorBody, 404: ErrorBody, 422: ErrorBody})
@paginate(CursorPagination, ordering=("-id",))
def list_runs(request: HttpRequest, filters: Query[RunFilters]):
    """Newest first. ``status`` may be given more than once."""
    runs = runs_for(request.user).select_related("workspace", "document", "created_by")
    if filters.workspace:
        runs = runs.filter(workspace=get_workspace_or_404(request.user, filters.workspace))
    if filters.status:
        runs = runs.filter(status__in=filters.status)
    if filters.document is not None:
        runs = runs.filter(document_id=filters.document)
    if filters.user:
        runs = runs.filter(created_by__username=filters.user)
    if filters.created_after:
        runs = runs.filter(created__gte=filters.created_after)
    if filters.created_before:
        runs = runs.filter(created__lt=filters.created_before)
    return runs


@router.get("/runs/{run_id}", response={200: RunDetail, **ERRORS})
def get_run(request: HttpRequest, run_id: int):
    return get_run_or_404(request.user, run_id)


@router.post("/runs/{run_id}/cancel", response={200: RunDetail, **ERRORS})
def cancel_run(request: HttpRequest, run_id: int):
    """Cancel a queued run at once, or ask a running one to stop (409 when it has ended)."""
    run = get_run_or_404(request.user, run_id)
    actions.request_cancel(run, request.user)
    return get_run_or_404(request.user, run_id)


@router.post("/runs/{run_id}/resume", response={201: RunDetail, **ERRORS}, throttle=[RunCreateThrottle()])
def resume_run(request: HttpRequest, run_id: int):
    """A new run that continues a failed, cancelled or interrupted one from its checkpoints."""
    run = get_run_or_404(request.user, run_id)
    new = actions.resume(run, request.user)
    return Status(201, get_run_or_404(request.user, new.pk))


@router.post("/runs/{run_id}/rerun", response={201: RunDetail, **ERRORS}, throttle=[RunCreateThrottle()])
def rerun_run(request: HttpRequest, run_id: int):
    """A new run of the same file snapshot, workflow and inputs."""
    run = get_run_or_404(request.user, run_id)
    new = actions.rerun(run, request.user)
    return Status(201, get_run_or_404(request.user, new.pk))
