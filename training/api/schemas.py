"""Request and response shapes of ``/api/v1/`` (pydantic, through django-ninja)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema


class WorkspaceOut(Schema):
    slug: str
    name: str
    role: str = Field(description="owner or member")


class ProblemOut(Schema):
    path: str
    message: str
    line: int | None = None
    column: int | None = None
    severity: Literal["error", "warning"] = "error"


class DocumentSummary(Schema):
    id: int
    workspace: str
    name: str
    valid: bool
    workflows: list[str]
    updated_at: datetime

    @staticmethod
    def resolve_workspace(doc: Any) -> str:
        return doc.workspace.slug

    @staticmethod
    def resolve_valid(doc: Any) -> bool:
        return doc.is_valid

    @staticmethod
    def resolve_workflows(doc: Any) -> list[str]:
        return doc.workflow_ids()


class DocumentOut(DocumentSummary):
    yaml: str
    problems: list[ProblemOut]

    @staticmethod
    def resolve_yaml(doc: Any) -> str:
        return doc.yaml_text

    @staticmethod
    def resolve_problems(doc: Any) -> list[dict[str, Any]]:
        return list(doc.definition.get("problems", []))


class DocumentCreate(Schema):
    workspace: str = Field(description="the workspace's slug")
    name: str = Field(min_length=1, max_length=200)
    yaml: str


class DocumentReplace(Schema):
    yaml: str
    name: str | None = Field(None, min_length=1, max_length=200)


class ValidateIn(Schema):
    yaml: str


class ValidateOut(Schema):
    ok: bool = Field(description="no errors (warnings may remain)")
    problems: list[ProblemOut]


class JobOut(Schema):
    job: str
    component: str
    status: str
    message: str
    progress_current: int | None = None
    progress_total: int | None = None
    progress_unit: str = ""
    started: datetime | None = None
    finished: datetime | None = None
    output: Any | None = None


class RunOut(Schema):
    id: int
    workspace: str
    document: int | None = None
    document_name: str | None = None
    workflow: str
    status: str
    inputs: dict[str, Any]
    created_by: str | None = None
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None
    attempt: int
    cancel_requested: bool
    error: str
    rerun_of: int | None = None
    resumed_from: int | None = None
    last_seq: int = Field(description="the highest event seq written so far")

    @staticmethod
    def resolve_workspace(run: Any) -> str:
        return run.workspace.slug

    @staticmethod
    def resolve_document(run: Any) -> int | None:
        return run.document_id

    @staticmethod
    def resolve_document_name(run: Any) -> str | None:
        return run.document.name if run.document_id else None

    @staticmethod
    def resolve_workflow(run: Any) -> str:
        return run.workflow_id

    @staticmethod
    def resolve_created_by(run: Any) -> str | None:
        return run.created_by.username if run.created_by_id else None

    @staticmethod
    def resolve_rerun_of(run: Any) -> int | None:
        return run.rerun_of_id

    @staticmethod
    def resolve_resumed_from(run: Any) -> int | None:
        return run.resumed_from_id


class RunDetail(RunOut):
    output: Any | None = None
    jobs: list[JobOut]

    @staticmethod
    def resolve_jobs(run: Any) -> list[dict[str, Any]]:
        return [
            {
                "job": j.job_id,
                "component": j.component_id,
                "status": j.status,
                "message": j.message,
                "progress_current": j.progress_current,
                "progress_total": j.progress_total,
                "progress_unit": j.progress_unit,
                "started": j.started,
                "finished": j.finished,
                "output": j.output,
            }
            for j in run.job_runs.all()
        ]


class RunCreate(Schema):
    document: int = Field(description="the document's id")
    workflow: str | None = Field(None, description="the workflow's id; empty for the default")
    inputs: dict[str, Any] = Field(default_factory=dict)


class SweepCreate(Schema):
    document: int = Field(description="the document's id")
    workflow: str | None = Field(None, description="the workflow's id; empty for the default")
    inputs: dict[str, Any] = Field(default_factory=dict, description="the single values of the other inputs")
    sweep: dict[str, list[Any]] = Field(description="each swept input's values: one run per combination")


class SweepOut(Schema):
    id: int
    workspace: str
    workflow: str
    values: dict[str, list[Any]] = Field(description="each swept input's values, typed")
    runs: list[int] = Field(description="the ids of the runs queued, one per combination")
    compare: str | None = Field(
        description="the compare page of these runs (the first of them when there are more than it shows)"
    )


class EventOut(Schema):
    seq: int
    type: str
    job: str
    ts: datetime
    event: dict[str, Any] = Field(description="the record as the job emitted it (compose.events)")


class EventPage(Schema):
    events: list[EventOut]
    last_seq: int = Field(description="pass it as `after` for the next page")
    more: bool = Field(description="more events are already stored after this page")
    status: str
    final: bool = Field(description="the run has ended; no more events will come")


class MetricPointOut(Schema):
    step: int
    epoch: float | None = None
    value: float | None = None


class MetricSeries(Schema):
    job: str
    name: str
    split: str
    points: list[MetricPointOut]


class MetricsOut(Schema):
    series: list[MetricSeries]


class ArtifactOut(Schema):
    id: int
    job: str
    kind: str
    path: str
    size_bytes: int | None = None
    step: int | None = None
    created: datetime
    download: str = Field(description="the API path that downloads it (a folder comes as a zip)")
