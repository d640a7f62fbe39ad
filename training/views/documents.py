"""Create/import a document, show it (components, workflows, YAML, runs), save its YAML, export it."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from compose.errors import Problem
from compose.schema.components import COMPONENT_TYPES, essential_fields
from compose.yamlio.limits import MAX_BYTES, size_problem, text_size
from training import actions
from training.forms.document import STARTER_YAML, DocumentImportForm, YamlTextForm
from training.models.access import get_document_or_404, get_workspace_or_404

from .common import headline_metric, parse_text, problem_dicts, with_headline
from .graph import layout

if TYPE_CHECKING:
    from compose.document_edit.shapes import Dialect

# Fields a component card shows, in this order, when the document sets them.
# The fields a component's card shows: those the schema marks essential.
CARD_FIELDS = {ctype: essential_fields(model) for ctype, model in COMPONENT_TYPES.items()}
EXPORT_DIALECTS = ("seed", "nested")


def document_new(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = get_workspace_or_404(request.user, slug)
    importing = request.GET.get("import") == "1"
    problems = []
    if request.method == "POST":
        form = DocumentImportForm(request.POST, request.FILES, workspace=workspace)
        valid = form.is_valid()
        text = form.cleaned_data.get("yaml_text", "")
        if valid:
            parsed = parse_text(text, source=form.cleaned_data["name"])
            if not parsed.errors:
                document = actions.create_document(workspace, request.user, form.cleaned_data["name"], text)
                messages.success(request, f"Document “{document.name}” saved.")
                return redirect("training:document", pk=document.pk)
            problems = parsed.problems
        if request.FILES.get("upload") and text:
            # Whatever needs fixing (the YAML, or a name already taken), the uploaded text
            # stays in the box: the browser has already forgotten the file.
            data = request.POST.copy()
            data["yaml_text"] = text
            form = DocumentImportForm(data, workspace=workspace)
            form.is_valid()
    else:
        form = DocumentImportForm(workspace=workspace, initial={"yaml_text": "" if importing else STARTER_YAML})
    return render(
        request,
        "training/document_new.html",
        {
            "workspace": workspace,
            "form": form,
            "problems": problems,
            "importing": importing,
        },
        status=400 if problems else 200,
    )


def _component_cards(parsed_file: Any) -> list[dict[str, Any]]:
    cards = []
    for index, component in enumerate(parsed_file.components if parsed_file else []):
        names = CARD_FIELDS.get(component.type, ())
        shown = [(n, component.fields[n]) for n in names if component.fields.get(n) not in (None, "")]
        actions = list(component.actions)
        # The form edits a component's own fields; named actions (even one) are edited as YAML.
        cards.append(
            {
                "index": index,
                "component": component,
                "fields": shown,
                "actions": actions,
                "editable": component.type in COMPONENT_TYPES and not actions,
            }
        )
    return cards


def _workflow_views(parsed_file: Any) -> list[dict[str, Any]]:
    out = []
    for workflow in parsed_file.workflows if parsed_file else []:
        out.append({"workflow": workflow, "graph": layout(workflow.jobs)})
    return out


def document(request: HttpRequest, pk: int) -> HttpResponse:
    doc = get_document_or_404(request.user, pk)
    parsed = parse_text(doc.yaml_text, source=doc.name)
    runs = list(with_headline(doc.runs.select_related("created_by", "document")).order_by("-created")[:50])
    for run in runs:
        run.headline = headline_metric(run)
    return render(
        request,
        "training/document.html",
        {
            "document": doc,
            "workspace": doc.workspace,
            "parsed": parsed,
            "cards": _component_cards(parsed.file),
            "workflows": _workflow_views(parsed.file),
            "yaml_form": YamlTextForm(initial={"yaml_text": doc.yaml_text}),
            "runs": runs,
            "problems": parsed.problems,
            "yaml_tab": bool(parsed.errors),
            "component_types": list(COMPONENT_TYPES),
        },
    )


@require_POST
def document_save_yaml(request: HttpRequest, pk: int) -> HttpResponse:
    doc = get_document_or_404(request.user, pk)
    form = YamlTextForm(request.POST)
    form.is_valid()
    text = form.cleaned_data.get("yaml_text", "")
    parsed = parse_text(text, source=doc.name)
    if parsed.errors:
        doc.yaml_text = text  # shown, not saved: the page keeps what was typed
        return render(
            request,
            "training/document.html",
            {
                "document": doc,
                "workspace": doc.workspace,
                "parsed": parsed,
                "cards": [],
                "workflows": [],
                "yaml_form": YamlTextForm(initial={"yaml_text": text}),
                "runs": [],
                "problems": parsed.problems,
                "yaml_tab": True,
                "component_types": list(COMPONENT_TYPES),
            },
            status=400,
        )
    actions.update_document(doc, request.user, text)
    messages.success(request, "YAML saved.")
    return redirect("training:document", pk=doc.pk)


@require_POST
def validate_yaml(request: HttpRequest) -> JsonResponse:
    """Validation as you type: ``{"ok", "problems": [{path, line, column, message, severity}]}``.

    A text over the size limit is refused with 400 and that one problem, unparsed.
    """
    try:
        text = _posted_text(request)
    except RequestDataTooBig:
        # Django read no more of the body than its limit; the declared length says how big it is.
        return _refused(size_problem(max(_declared_length(request), MAX_BYTES + 1)))
    except ValueError:
        return JsonResponse({"error": 'send JSON {"text": "..."} or a form with a text field'}, status=400)
    too_large = size_problem(text_size(text))
    if too_large is not None:
        return _refused(too_large)
    parsed = parse_text(text)
    summary = None
    if parsed.file is not None:
        summary = {
            "components": len(parsed.file.components),
            "workflows": [{"id": w.id, "jobs": len(w.jobs)} for w in parsed.file.workflows],
        }
    return JsonResponse({"ok": not parsed.errors, "problems": problem_dicts(parsed.problems), "summary": summary})


def _posted_text(request: HttpRequest) -> str:
    """The ``text`` of a JSON body or a form; ValueError when there is none that is text."""
    if request.content_type == "application/json":
        body = json.loads(request.body or b"{}")  # a ValueError when not JSON or not UTF-8
        text = body.get("text", "") if isinstance(body, dict) else None
    else:
        text = request.POST.get("text", "")
    if not isinstance(text, str):
        raise ValueError("text is not a string")
    return text


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _refused(problem: Problem | None) -> JsonResponse:
    return JsonResponse(
        {"ok": False, "problems": problem_dicts([problem] if problem else []), "summary": None}, status=400
    )


def document_export(request: HttpRequest, pk: int, dialect: str) -> HttpResponse:
    from compose.errors import ComposeError
    from compose.exporter import export_yaml
    from compose.loader import load_compose

    doc = get_document_or_404(request.user, pk)
    if dialect not in EXPORT_DIALECTS:
        return HttpResponse(f"Unknown dialect {dialect!r}; use seed or nested.", status=404)
    try:
        parsed = load_compose(doc.yaml_text, source=doc.name)
    except ComposeError as exc:
        messages.error(
            request, "Fix the document's problems before exporting: " + "; ".join(str(p) for p in exc.errors[:3])
        )
        return redirect("training:document", pk=doc.pk)
    # The original text lets an export in the file's own dialect keep comments and key order.
    text = export_yaml(parsed, cast("Dialect", dialect), original=doc.yaml_text)  # one of EXPORT_DIALECTS
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", doc.name).strip("-") or "compose"
    filename = f"{base}.yaml" if dialect == "seed" else f"{base}.nested.yaml"
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
