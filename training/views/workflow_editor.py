"""Workflow editor: jobs, their components, methods, input bindings and dependencies."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse

from compose.errors import Problem
from compose.exporter import append_item, remove_item
from compose.loader import ParseResult
from training import actions
from training.forms.apply import apply_changes
from training.forms.workflow import WorkflowForm
from training.models.access import get_document_or_404

from .common import new_errors, parse_text, problem_dicts
from .editor import EDIT_ERRORS
from .graph import layout

JOB_PART = re.compile(r"^jobs\[(\d+)\]\.(component|method|input|depends_on)\b")


def _workflow(doc: Any, workflow_id: str) -> tuple[Any, int, Any]:
    parsed = parse_text(doc.yaml_text, source=doc.name)
    if parsed.file is None:
        raise Http404("The document cannot be read; fix it in the YAML tab first.")
    for index, workflow in enumerate(parsed.file.workflows):
        if workflow.id == workflow_id:
            return workflow, index, parsed
    raise Http404(f"No workflow {workflow_id!r} in this document.")


def place_job_problems(problems: list[Problem], base: str) -> tuple[dict[str, list[str]], list[Problem]]:
    by_field: dict[str, list[str]] = {}
    rest = []
    for p in problems:
        path = p.path or ""
        match = JOB_PART.match(path[len(base) + 1 :]) if path.startswith(base + ".") else None
        if match:
            by_field.setdefault(f"job{match.group(1)}-{match.group(2)}", []).append(p.message)
        else:
            rest.append(p)
    return by_field, rest


def evaluate(text: str, result: ParseResult, index: int, form: WorkflowForm) -> dict[str, Any]:
    valid = form.is_valid()
    field_errors = {name: [str(e) for e in errs] for name, errs in form.errors.items() if name != "__all__"}
    base = f"workflows[{index}]"
    other: list[Problem] = []
    new_text = text
    try:
        new_text = apply_changes(text, result, base, form.changes())
        jobs_path = result.workflow_paths.get(form.workflow.id, base) + ".jobs"
        new_job = form.new_job()
        if new_job:
            new_text = append_item(new_text, jobs_path, new_job)
        for j in sorted(form.removed(), reverse=True):
            new_text = remove_item(new_text, jobs_path, j)
    except EDIT_ERRORS as exc:
        other.append(Problem(path=base, message=f"could not apply the change: {exc}"))
    parsed = parse_text(new_text)
    placed, rest = place_job_problems(parsed.errors, parsed.workflow_paths.get(form.workflow.id, base))
    for name, msgs in placed.items():
        field_errors.setdefault(name, []).extend(msgs)
    other.extend(rest + parsed.warnings)
    workflow = parsed.file.workflows[index] if parsed.file and len(parsed.file.workflows) > index else None
    graph = ""
    if workflow is not None:
        graph = render_to_string("training/_graph.html", {"graph": layout(workflow.jobs), "workflow_id": workflow.id})
    ok = valid and not placed and not new_errors(result, other)
    return {"yaml": new_text, "field_errors": field_errors, "problems": other, "ok": ok, "graph": graph}


def workflow_edit(request: HttpRequest, pk: int, workflow_id: str) -> HttpResponse:
    doc = get_document_or_404(request.user, pk)
    workflow, index, parsed = _workflow(doc, workflow_id)
    components = parsed.file.components
    if request.method != "POST":
        form = WorkflowForm(workflow=workflow, components=components)
        graph = render_to_string("training/_graph.html", {"graph": layout(workflow.jobs), "workflow_id": workflow.id})
        return _render(
            request, doc, workflow, form, {"yaml": doc.yaml_text, "field_errors": {}, "problems": [], "graph": graph}
        )
    form = WorkflowForm(request.POST, workflow=workflow, components=components)
    result = evaluate(doc.yaml_text, parsed, index, form)
    if request.GET.get("preview") == "1":
        return JsonResponse(
            {
                "yaml": result["yaml"],
                "ok": result["ok"],
                "graph": result["graph"],
                "field_errors": result["field_errors"],
                "problems": problem_dicts(result["problems"]),
            }
        )
    if not result["ok"]:
        return _render(request, doc, workflow, form, result, status=400)
    if result["yaml"] != doc.yaml_text:
        actions.update_document(doc, request.user, result["yaml"])
        messages.success(request, f"Workflow “{workflow_id}” saved.")
    return redirect(reverse("training:document", args=[doc.pk]) + "#workflows")


def _render(
    request: HttpRequest, doc: Any, workflow: Any, form: WorkflowForm, result: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(
        request,
        "training/workflow_edit.html",
        {
            "document": doc,
            "workspace": doc.workspace,
            "workflow": workflow,
            "form": form,
            "field_errors": result["field_errors"],
            "problems": result["problems"],
            "yaml": result["yaml"],
            "graph": result["graph"],
        },
        status=status,
    )
