"""Component editor: a form built from the component's schema, a live YAML preview, save."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from compose.errors import Problem
from compose.exporter import append_item
from compose.loader import ParseResult
from compose.schema.components import COMPONENT_TYPES
from training import actions
from training.forms.apply import apply_changes, place_problems, written_paths
from training.forms.component import ComponentForm, form_name
from training.forms.schema_fields import component_groups, group_methods, model_field_specs
from training.models.access import get_document_or_404

from .common import new_errors, parse_text, problem_dicts

# Errors set_field may raise for a path it cannot write.
EDIT_ERRORS = (ValueError, KeyError, IndexError, TypeError)


def _component(doc: Any, component_id: str) -> tuple[Any, int, Any]:
    parsed = parse_text(doc.yaml_text, source=doc.name)
    if parsed.file is None:
        raise Http404("The document cannot be read; fix it in the YAML tab first.")
    for index, component in enumerate(parsed.file.components):
        if component.id == component_id:
            if component.type not in COMPONENT_TYPES:
                raise Http404(f"{component.type} components are edited in the YAML tab.")
            if component.actions:
                raise Http404(
                    f"{component_id} defines named actions ({', '.join(component.actions)}); "
                    "a component with actions is edited in the YAML tab."
                )
            return component, index, parsed
    raise Http404(f"No component {component_id!r} in this document.")


def evaluate(text: str, result: ParseResult, index: int, form: ComponentForm) -> dict[str, Any]:
    """Apply the form to ``text`` (parsed as ``result``): the new YAML, errors per field and
    the other problems."""
    valid = form.is_valid()
    field_errors: dict[str, list[str]] = {
        name: [str(e) for e in errs] for name, errs in form.errors.items() if name != "__all__"
    }
    other: list[Problem] = []
    new_text = text
    if "values" in form.cleaned_data:
        try:
            new_text = apply_changes(text, result, f"components[{index}]", form.changed_fields())
        except EDIT_ERRORS as exc:
            other.append(Problem(path=f"components[{index}]", message=f"could not apply the change: {exc}"))
    names = [spec.name for group in form.groups for spec in group.fields]
    parsed = parse_text(new_text)
    assert result.file is not None  # the editor opens only a document that reads
    component_id = result.file.components[index].id
    base = parsed.component_path(component_id) or f"components[{index}]"
    field_paths = written_paths(parsed, f"components[{index}]", names) if parsed.file is not None else {}
    placed, rest = place_problems(parsed.errors, base, names, field_paths)
    for name, msgs in placed.items():
        field_errors.setdefault(form_name(name), []).extend(msgs)
    other.extend(rest + parsed.warnings)
    # Problems the document already had elsewhere do not block saving this component.
    ok = valid and not placed and not new_errors(result, other)
    return {"yaml": new_text, "field_errors": field_errors, "problems": other, "ok": ok}


def component_edit(request: HttpRequest, pk: int, component_id: str) -> HttpResponse:
    doc = get_document_or_404(request.user, pk)
    component, index, parsed = _component(doc, component_id)
    groups = component_groups(component.type)
    if request.method != "POST":
        form = ComponentForm(groups=groups, current=component.fields)
        return _render(
            request, doc, component, form, {"yaml": doc.yaml_text, "field_errors": {}, "problems": [], "ok": True}
        )
    form = ComponentForm(request.POST, groups=groups, current=component.fields)
    result = evaluate(doc.yaml_text, parsed, index, form)
    if request.GET.get("preview") == "1":
        return JsonResponse(
            {
                "yaml": result["yaml"],
                "ok": result["ok"],
                "field_errors": result["field_errors"],
                "problems": problem_dicts(result["problems"]),
            }
        )
    if not result["ok"]:
        return _render(request, doc, component, form, result, status=400)
    if result["yaml"] != doc.yaml_text:
        actions.update_document(doc, request.user, result["yaml"])
        messages.success(request, f"Component “{component_id}” saved.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("training:document", pk=doc.pk)


def _render(
    request: HttpRequest, doc: Any, component: Any, form: ComponentForm, result: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(
        request,
        "training/component_edit.html",
        {
            "document": doc,
            "workspace": doc.workspace,
            "component": component,
            "form": form,
            "field_errors": result["field_errors"],
            "problems": result["problems"],
            "yaml": result["yaml"],
            "group_methods": group_methods(component.type),
        },
        status=status,
    )


@require_POST
def component_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Add an empty component of the chosen type and open its editor."""
    doc = get_document_or_404(request.user, pk)
    ctype = request.POST.get("type", "")
    new_id = (request.POST.get("id") or "").strip()
    if ctype not in COMPONENT_TYPES or not new_id:
        messages.error(request, "Give the new component an id and a type.")
        return redirect("training:document", pk=doc.pk)
    parsed = parse_text(doc.yaml_text, source=doc.name)
    if parsed.file is not None and parsed.file.component(new_id) is not None:
        messages.error(request, f"A component named {new_id!r} exists already.")
        return redirect("training:document", pk=doc.pk)
    item: dict[str, Any] = {"id": new_id, "type": ctype}
    # A required choice (a trainer's or a model's task) starts as the one asked for, else its first.
    for spec in model_field_specs(COMPONENT_TYPES[ctype]).values():
        if spec.required and spec.choices:
            asked = request.POST.get(spec.name)
            item[spec.name] = asked if asked in spec.choices else spec.choices[0]
    actions.update_document(doc, request.user, append_item(doc.yaml_text, "components", item))
    return redirect("training:component_edit", pk=doc.pk, component_id=new_id)
