"""Apply a changed document to the data of the text it was loaded from.

Each changed field is written where the file wrote it (``lora.rank`` stays nested, a
field under ``action:`` stays there) and a new one beside its kind; the text editor
(:mod:`compose.yamlio.edit`) then rewrites only those values.
"""

from __future__ import annotations

import copy
from typing import Any

from compose.dialects import (
    LORA_NESTED,
    MODEL_ACTION_FIELDS,
    MODEL_PARAMS_FIELDS,
    QUANT_NESTED,
    QUANT_SHORTHANDS,
    Normalized,
)
from compose.document_edit.shapes import (
    FLAT_TO_LORA,
    FLAT_TO_QUANT,
    MISSING,
    TRAINER_OUTSIDE_ACTION,
    Dialect,
    actions_to_raw,
    component_to_raw,
    job_to_raw,
    workflow_to_raw,
)
from compose.loader import ParseResult
from compose.schema.components import LORA_FIELDS, QUANT_DETAIL_FIELDS, DatasetsComponent, TrainerComponent
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow
from compose.yamlio.edit import same
from compose.yamlio.paths import Segment, join, split

# Field order of the canonical models (the seed's sections); nested names map onto it.
_CANONICAL_ORDER: tuple[str, ...] = tuple(
    dict.fromkeys([*TrainerComponent.model_fields, *DatasetsComponent.model_fields])
)
_FLAT_NAMES: dict[str, str] = {**LORA_NESTED, **{k: v for k, v in QUANT_NESTED.items() if k != "type"}}


def get_at(root: Any, path: tuple[Segment, ...] | list[Segment]) -> Any:
    node = root
    for seg in path:
        # Two branches, so that the checker narrows each index to its container.
        if isinstance(node, dict) and seg in node:  # noqa: SIM114
            node = node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and -len(node) <= seg < len(node):
            node = node[seg]
        else:
            return MISSING
    return node


def set_at(root: Any, path: tuple[Segment, ...] | list[Segment], value: Any) -> None:
    node = root
    for seg in path[:-1]:
        nxt = get_at(node, [seg])
        if not isinstance(nxt, (dict, list)):
            nxt = {}
            node[seg] = nxt
        node = nxt
    node[path[-1]] = value


def delete_at(root: Any, path: tuple[Segment, ...] | list[Segment]) -> None:
    parent = get_at(root, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        del parent[path[-1]]


def updated_raw(parsed: ParseResult, doc: ComposeFile, dialect: Dialect) -> dict[str, Any]:
    """The original data with the document's changes applied in the original's layout."""
    old = parsed.file
    assert old is not None
    data: dict[str, Any] = copy.deepcopy(parsed.read.data)
    layouts = {layout.normalized.id: layout for layout in parsed.components}
    components = []
    for component in doc.components:
        layout = layouts.get(component.id)
        before = old.component(component.id)
        if layout is None or before is None:
            components.append(component_to_raw(component, dialect))
            continue
        raw = get_at(data, split(layout.path))
        components.append(update_component(raw, layout.normalized, before, component))
    _keep_unread(data.get("components"), "components", {c.path for c in parsed.components}, components)
    _put_section(data, "components", "component", components)

    workflows = []
    for workflow in doc.workflows:
        earlier = old.workflow(workflow.id)
        path = parsed.workflow_paths.get(workflow.id)
        if earlier is None or path is None:
            workflows.append(workflow_to_raw(workflow, doc, dialect))
            continue
        workflows.append(_update_workflow(get_at(data, split(path)), earlier, workflow, parsed, dialect))
    _keep_unread(data.get("workflows"), "workflows", set(parsed.workflow_paths.values()), workflows)
    _put_section(data, "workflows", "workflow", workflows)

    if not same(old.controller, doc.controller):
        if doc.controller is None:
            data.pop("controller", None)
        else:
            data["controller"] = doc.controller
    for name in old.other_sections:
        if name not in doc.other_sections:
            data.pop(name, None)
    for name, value in doc.other_sections.items():
        if not same(old.other_sections.get(name, MISSING), value):
            data[name] = value
    return data


def _keep_unread(written: Any, path: str, read: set[str], items: list[Any]) -> None:
    """Put back the items the loader could not read (a component without a type ...):
    the document does not hold them, but the user's text should not lose them."""
    if not isinstance(written, list):
        return
    for index, item in enumerate(written):
        if join(path, index) not in read:
            items.insert(min(index, len(items)), item)


def _put_section(data: dict[str, Any], plural: str, singular: str, items: list[dict[str, Any]]) -> None:
    if singular in data and plural not in data and len(items) == 1:
        data[singular] = items[0]
        return
    data.pop(singular, None)
    if items or plural in data:
        data[plural] = items


def update_component(
    raw: dict[str, Any], norm: Normalized, before: ComponentDoc, after: ComponentDoc
) -> dict[str, Any]:
    """``raw`` (as written) changed to say ``after``, each field where the file wrote it."""
    style: Dialect = "nested" if norm.nested else "seed"
    if before.type != after.type:
        return component_to_raw(after, style)
    raw = copy.deepcopy(raw)
    # A nested load's ``path: json`` stands for provider + loader: any change among them
    # rewrites the action as a whole (unchanged keys still keep their text).
    derived = any(not norm.origins[n].exact for n in ("provider", "loader") if n in norm.origins)
    rebuild = derived and any(
        not same(before.fields.get(n, MISSING), after.fields.get(n, MISSING))
        for n in ("provider", "loader", "path", "method")
    )
    names = list(before.fields) + [n for n in after.fields if n not in before.fields]
    for name in names:
        old_value = before.fields.get(name, MISSING)
        new_value = after.fields.get(name, MISSING)
        if old_value is not MISSING and new_value is not MISSING and same(old_value, new_value):
            continue
        origin = norm.origins.get(name)
        if origin is not None and origin.exact:
            if new_value is MISSING:
                delete_at(raw, origin.path)
            else:
                set_at(raw, origin.path, new_value)
        elif origin is not None:
            if name == "quantization" and new_value in QUANT_SHORTHANDS.values():
                set_at(raw, origin.path, new_value)
            elif name == "peft_adapter" and new_value is MISSING:
                delete_at(raw, origin.path)  # the nested lora: block
                # LoRA settings the document still holds are written flat (and reported).
                for flat in LORA_FIELDS:
                    if flat in after.fields and norm.origins[flat].path[:-1] == origin.path:
                        inside = isinstance(raw.get("action"), dict)
                        _insert(raw, ("action", flat) if inside else (flat,), after.fields[flat])
            else:
                rebuild = True
        elif new_value is not MISSING:
            _insert(raw, _place(raw, name, norm, after.type), new_value)
    if rebuild:
        return _keep_order(raw, component_to_raw(after, style))
    if before.actions != after.actions or before.default_action != after.default_action:
        raw["actions"] = actions_to_raw(after, style)
    return raw


def _place(raw: dict[str, Any], name: str, norm: Normalized, component_type: str) -> tuple[Segment, ...]:
    """Where a field new to a written component goes, following how it is written."""
    if component_type == "model-trainer":
        peft = norm.origins.get("peft_adapter")
        if name in LORA_FIELDS and peft is not None and not peft.exact:
            return (*peft.path, FLAT_TO_LORA[name])
        quant = norm.origins.get("quantization")
        if name in QUANT_DETAIL_FIELDS and quant is not None:
            if quant.path[-1] == "type":
                return (*quant.path[:-1], FLAT_TO_QUANT[name])
            if norm.nested:
                written = get_at(raw, quant.path)
                set_at(raw, quant.path, {"type": written})
                return (*quant.path, FLAT_TO_QUANT[name])
        if isinstance(raw.get("action"), dict) and name not in TRAINER_OUTSIDE_ACTION:
            return ("action", name)
    elif component_type == "model":
        if isinstance(raw.get("action"), dict) and name in MODEL_PARAMS_FIELDS:
            return ("action", "params", name)
        if isinstance(raw.get("action"), dict) and name in MODEL_ACTION_FIELDS:
            return ("action", name)
    elif isinstance(raw.get("action"), dict):
        return ("action", name)
    return (name,)


def _insert(raw: dict[str, Any], path: tuple[Segment, ...], value: Any) -> None:
    """Set a new key, next to the keys that come before it in the canonical field order."""
    container = get_at(raw, path[:-1]) if len(path) > 1 else raw
    if not isinstance(container, dict):
        set_at(raw, path, value)
        return
    rank = {name: i for i, name in enumerate(_CANONICAL_ORDER)}
    key = str(path[-1])
    target = rank.get(_FLAT_NAMES.get(key, key))
    anchor: str | None = None
    if target is not None:
        before = [k for k in container if rank.get(_FLAT_NAMES.get(k, k), len(rank)) < target]
        anchor = max(before, key=lambda k: rank.get(_FLAT_NAMES.get(str(k), str(k)), -1)) if before else None
    items = list(container.items())
    position = len(items) if anchor is None else [k for k, _ in items].index(anchor) + 1
    items.insert(position, (key, value))
    container.clear()
    container.update(items)


def _keep_order(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    ordered = {k: after[k] for k in before if k in after}
    ordered.update({k: v for k, v in after.items() if k not in ordered})
    return ordered


def _update_workflow(
    raw: dict[str, Any], before: Workflow, after: Workflow, parsed: ParseResult, dialect: Dialect
) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    for name in ("title", "description", "output"):
        if not same(getattr(before, name), getattr(after, name)):
            if getattr(after, name) is None:
                raw.pop(name, None)
            else:
                raw[name] = getattr(after, name)
    if before.default != after.default:
        raw["default"] = after.default
    old_jobs = {job.id: job for job in before.jobs}
    raw_jobs: list[Any] = raw["jobs"] if isinstance(raw.get("jobs"), list) else []
    jobs = []
    for job in after.jobs:
        layout = parsed.jobs.get((before.id, job.id))
        if job.id not in old_jobs or layout is None:
            jobs.append(job_to_raw(job, dialect))
            continue
        index = int(split(layout.path)[-1])
        jobs.append(_update_job(raw_jobs[index], old_jobs[job.id], job, layout.method_key))
    base = parsed.workflow_paths.get(before.id, "")
    read = {layout.path for (workflow_id, _), layout in parsed.jobs.items() if workflow_id == before.id}
    _keep_unread(raw_jobs, join(base, "jobs"), read, jobs)
    raw["jobs"] = jobs
    return raw


def _update_job(raw: dict[str, Any], before: Job, after: Job, method_key: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    defaults: dict[str, Any] = {
        "method": None,
        "input": {},
        "output": "${output}",
        "depends_on": [],
        "title": None,
        "description": None,
    }
    for name in ("component", *defaults):
        old_value, new_value = getattr(before, name), getattr(after, name)
        if same(old_value, new_value):
            continue
        key = method_key if name == "method" else name
        if name in defaults and same(new_value, defaults[name]):
            raw.pop(key, None)
        elif name == "depends_on" and isinstance(raw.get(key), str) and len(new_value) == 1:
            raw[key] = new_value[0]
        else:
            raw[key] = new_value
    return raw
