"""Workspaces and compose documents: list, create from YAML, get, replace, validate, export."""

import re
from typing import Literal

from django.db import IntegrityError
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from ninja.pagination import CursorPagination, paginate

from compose.errors import Problem
from compose.yamlio.limits import size_problem, text_size
from training import actions
from training.api.core import ErrorBody, ProblemsError, refuse
from training.api.schemas import (
    DocumentCreate,
    DocumentOut,
    DocumentReplace,
    DocumentSummary,
    ValidateIn,
    ValidateOut,
    WorkspaceOut,
)
from training.models import ComposeDocument, Membership
from training.models.access import documents_for, get_document_or_404, get_workspace_or_404
from training.views.common import parse_text

router = Router(tags=["documents"])
ERRORS = {400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody}


@router.get("/workspaces", response={200: list[WorkspaceOut], 401: ErrorBody}, tags=["workspaces"])
@paginate(CursorPagination, ordering=("slug",))
def list_workspaces(request: HttpRequest):
    """The workspaces the token's user belongs to."""
    assert request.user.is_authenticated  # the token's user
    return (
        Membership.objects.filter(user=request.user)
        .select_related("workspace")
        .annotate(slug=F("workspace__slug"), name=F("workspace__name"))
    )


class DocumentFilters(Schema):
    workspace: str | None = None
    name: str | None = None


@router.get("/documents", response={200: list[DocumentSummary], 401: ErrorBody, 404: ErrorBody})
@paginate(CursorPagination, ordering=("id",))
def list_documents(request: HttpRequest, filters: Query[DocumentFilters]):
    documents = documents_for(request.user).select_related("workspace")
    if filters.workspace:
        documents = documents.filter(workspace=get_workspace_or_404(request.user, filters.workspace))
    if filters.name:
        documents = documents.filter(name=filters.name)
    return documents


def _checked(text: str, source: str) -> None:
    """Refuse a text over the size limit or with errors, listing every problem."""
    too_large = size_problem(text_size(text), source)
    if too_large is not None:
        raise ProblemsError([too_large])
    parsed = parse_text(text, source=source)
    if parsed.errors:
        raise ProblemsError(parsed.errors)


@router.post("/documents", response={201: DocumentOut, **ERRORS})
def create_document(request: HttpRequest, payload: DocumentCreate):
    """Store a new document. A text with errors is refused (400) with every problem located."""
    workspace = get_workspace_or_404(request.user, payload.workspace)
    if ComposeDocument.objects.filter(workspace=workspace, name=payload.name).exists():
        raise refuse(409, f"the workspace already has a document named {payload.name!r}", "name")
    _checked(payload.yaml, payload.name)
    try:
        document = actions.create_document(workspace, request.user, payload.name, payload.yaml)
    except IntegrityError:
        raise refuse(409, f"the workspace already has a document named {payload.name!r}", "name") from None
    return Status(201, document)


@router.get("/documents/{document_id}", response={200: DocumentOut, **ERRORS})
def get_document(request: HttpRequest, document_id: int):
    return get_document_or_404(request.user, document_id)


@router.put("/documents/{document_id}", response={200: DocumentOut, **ERRORS})
def replace_document(request: HttpRequest, document_id: int, payload: DocumentReplace):
    """Replace the YAML (and the name, when given). A text with errors is refused, unsaved."""
    document = get_document_or_404(request.user, document_id)
    if (
        payload.name
        and payload.name != document.name
        and ComposeDocument.objects.filter(workspace=document.workspace, name=payload.name).exists()
    ):
        raise refuse(409, f"the workspace already has a document named {payload.name!r}", "name")
    _checked(payload.yaml, payload.name or document.name)
    return actions.update_document(document, request.user, payload.yaml, name=payload.name)


@router.post("/validate", response={200: ValidateOut, **ERRORS})
def validate(request: HttpRequest, payload: ValidateIn):
    """Check a compose file without saving it: the editor's problems, each with line and column."""
    too_large = size_problem(text_size(payload.yaml))
    if too_large is not None:
        raise ProblemsError([too_large])
    parsed = parse_text(payload.yaml)
    return {"ok": not parsed.errors, "problems": [p.to_dict() for p in parsed.problems]}


@router.get(
    "/documents/{document_id}/export",
    response={200: None, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": "the compose file as YAML",
                "content": {"application/yaml": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_document(request: HttpRequest, document_id: int, dialect: Literal["seed", "nested"] = "seed"):
    """The document in the seed or the nested dialect (comments kept in its own dialect)."""
    from compose.errors import ComposeError
    from compose.exporter import export_yaml
    from compose.loader import load_compose

    document = get_document_or_404(request.user, document_id)
    try:
        parsed = load_compose(document.yaml_text, source=document.name)
    except ComposeError as exc:
        raise ProblemsError(exc.errors or [Problem("", "the document cannot be read")]) from exc
    text = export_yaml(parsed, dialect, original=document.yaml_text)
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", document.name).strip("-") or "compose"
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{base}.yaml"' if dialect == "seed" else f'attachment; filename="{base}.nested.yaml"'
    )
    return response
