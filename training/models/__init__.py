"""The training app's tables, one module per concern."""

from training.models.access import (
    documents_for,
    events_after,
    get_document_or_404,
    get_run_or_404,
    get_workspace_or_404,
    is_member,
    is_owner,
    runs_for,
    workspaces_for,
)
from training.models.document import ComposeDocument
from training.models.events import Artifact, MetricPoint, RunEvent
from training.models.fleet import Gpu, Worker, WorkerStatus
from training.models.run import JobRun, JobRunStatus, Run, RunStatus
from training.models.sweep import Sweep
from training.models.tokens import ApiToken
from training.models.workspace import Membership, Workspace, WorkspaceSecret

__all__ = [
    "ApiToken",
    "Artifact",
    "ComposeDocument",
    "Gpu",
    "JobRun",
    "JobRunStatus",
    "Membership",
    "MetricPoint",
    "Run",
    "RunEvent",
    "RunStatus",
    "Sweep",
    "Worker",
    "WorkerStatus",
    "Workspace",
    "WorkspaceSecret",
    "documents_for",
    "events_after",
    "get_document_or_404",
    "get_run_or_404",
    "get_workspace_or_404",
    "is_member",
    "is_owner",
    "runs_for",
    "workspaces_for",
]
