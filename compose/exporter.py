"""ComposeFile -> YAML text, in the seed (flat) or the nested dialect.

Without ``original`` the whole file is written in the chosen dialect. With the text the
document was loaded from, only what changed is rewritten, where the file wrote it
(``lora.rank`` stays nested, a field under ``action:`` stays there); comments, key order
and untouched lines are kept byte for byte, and an unchanged document comes back as
the original text. The dialect then only governs components and jobs that are new.

Export writes what the document says: bindings such as ``${env.HF_TOKEN}`` stay
bindings, and nothing resolved at run time is ever written.
"""
from __future__ import annotations

import copy
from typing import Any, Literal, Optional

from compose.dialects import FILE_BUILDERS, LORA_NESTED, QUANT_NESTED, QUANT_SHORTHANDS, Normalized
from compose.loader import ParseResult, parse
from compose.schema.components import (
    COMPONENT_TYPES, LORA_FIELDS, QUANT_DETAIL_FIELDS, DatasetsComponent, TrainerComponent,
)
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow
from compose.yamlio.edit import rewrite, same
from compose.yamlio.paths import Segment, split
from compose.yamlio.render import dump_block

Dialect = Literal["seed", "nested"]
_MISSING: Any = object()
# Trainer fields the nested dialect keeps beside ``type`` rather than under ``action:``.
TRAINER_OUTSIDE_ACTION: tuple[str, ...] = ("task", "model", "tokenizer", "chat_template", "resources")
_FLAT_TO_LORA = {flat: nested for nested, flat in LORA_NESTED.items()}
_FLAT_TO_QUANT = {flat: nested for nested, flat in QUANT_NESTED.items()}
# Field order of the canonical models (the seed's sections); nested names map onto it.
_CANONICAL_ORDER: tuple[str, ...] = tuple(dict.fromkeys(
    [*TrainerComponent.model_fields, *DatasetsComponent.model_fields]))
_FLAT_NAMES: dict[str, str] = {**LORA_NESTED, **{k: v for k, v in QUANT_NESTED.items() if k != "type"}}


def export_yaml(doc: ComposeFile, dialect: Dialect = "seed", *, original: Optional[str] = None) -> str:
    """The document as YAML text (see the module docstring for ``original``)."""
    if dialect not in ("seed", "nested"):
        raise ValueError(f"unknown dialect {dialect!r}: seed or nested")
    if original is not None:
        parsed = parse(original)
        if parsed.file is not None and isinstance(parsed.read.data, dict):
            if parsed.file == doc:
                return original
            return rewrite(original, _updated_raw(parsed, doc, dialect))
    return _with_blank_lines(dump_block(document_to_raw(doc, dialect)))


def set_field(text: str, path: str, value: Any) -> str:
    """``text`` with the value at ``path`` set, everything else kept as written.

    ``path`` names a canonical field (``components[1].learning_rate``, written under
    ``action:`` in a nested file) or any written key (``workflows[0].jobs[1].input.x``).
    """
    return _edit(text, path, value)


def remove_field(text: str, path: str) -> str:
    """``text`` without the key at ``path`` (a no-op when it is not there)."""
    return _edit(text, path, _MISSING)


def append_item(text: str, list_path: str, item: Any) -> str:
    """``text`` with ``item`` added at the end of the list at ``list_path`` (created when
    missing), e.g. a new component or job; everything else kept as written."""
    data = _data(text)
    items = _get(data, split(list_path))
    if items is _MISSING or items is None:
        _set(data, split(list_path), [item])
    elif isinstance(items, list):
        items.append(item)
    else:
        raise ValueError(f"{list_path} is not a list")
    return rewrite(text, data)


def remove_item(text: str, list_path: str, index: int) -> str:
    """``text`` without item ``index`` of the list at ``list_path``."""
    data = _data(text)
    items = _get(data, split(list_path))
    if not isinstance(items, list) or not -len(items) <= index < len(items):
        raise IndexError(f"{list_path} has no item {index}")
    del items[index]
    return rewrite(text, data)


def _data(text: str) -> dict[str, Any]:
    parsed = parse(text) if text.strip() else None
    if parsed is None:
        return {}
    if not isinstance(parsed.read.data, dict):
        raise ValueError("the text is not a compose file mapping; fix its YAML first")
    return copy.deepcopy(parsed.read.data)


# --- whole-document export ----------------------------------------------------------------

def document_to_raw(doc: ComposeFile, dialect: Dialect = "seed") -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if doc.controller is not None:
        raw["controller"] = doc.controller
    if doc.components:
        raw["components"] = [component_to_raw(c, dialect) for c in doc.components]
    if doc.workflows:
        raw["workflows"] = [workflow_to_raw(w, doc, dialect) for w in doc.workflows]
    raw.update(doc.other_sections)
    return raw


def component_to_raw(component: ComponentDoc, dialect: Dialect = "seed") -> dict[str, Any]:
    raw: dict[str, Any] = {"id": component.id, "type": component.type}
    fields = dict(component.fields)
    if dialect == "seed" or component.type not in COMPONENT_TYPES:
        raw.update(fields)
    elif component.type == "model-trainer":
        raw.update(_trainer_nested(fields))
    else:
        raw["driver"] = "huggingface"
        action = _datasets_action_nested(fields)
        if action:
            raw["action"] = action
    if component.actions:
        raw["actions"] = _actions_to_raw(component, dialect)
    return raw


def _actions_to_raw(component: ComponentDoc, dialect: Dialect) -> list[dict[str, Any]]:
    items = []
    for action_id, fields in component.actions.items():
        item: dict[str, Any] = {"id": action_id}
        item.update(_datasets_action_nested(dict(fields)) if dialect == "nested" else fields)
        if component.default_action == action_id:
            item["default"] = True
        items.append(item)
    return items


def _trainer_nested(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: fields.pop(name) for name in TRAINER_OUTSIDE_ACTION if name in fields}
    peft = fields.pop("peft_adapter", _MISSING)
    if peft == "lora":
        out["lora"] = {_FLAT_TO_LORA[n]: fields.pop(n) for n in LORA_FIELDS if n in fields}
    elif peft is not _MISSING:
        fields = {"peft_adapter": peft, **fields}  # a binding or null: kept flat
    quant = fields.pop("quantization", _MISSING)
    details = {_FLAT_TO_QUANT[n]: fields.pop(n) for n in QUANT_DETAIL_FIELDS if n in fields}
    if details:
        out["quantization"] = {**({"type": quant} if quant is not _MISSING else {}), **details}
    elif quant is not _MISSING:
        out["quantization"] = quant
    if fields:
        out["action"] = fields
    return out


def _datasets_action_nested(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "method" in fields:
        out["method"] = fields.pop("method")
    if out.get("method", "load") == "load" and fields.get("provider") == "local" \
            and fields.get("loader") in FILE_BUILDERS and "path" not in fields:
        fields.pop("provider")
        out["path"] = fields.pop("loader")
    out.update(fields)
    return out


def workflow_to_raw(workflow: Workflow, doc: ComposeFile, dialect: Dialect = "seed") -> dict[str, Any]:
    raw: dict[str, Any] = {"id": workflow.id}
    for name in ("title", "description"):
        if getattr(workflow, name) is not None:
            raw[name] = getattr(workflow, name)
    if workflow.default:
        raw["default"] = True
    raw["jobs"] = [job_to_raw(job, dialect) for job in workflow.jobs]
    if workflow.output is not None:
        raw["output"] = workflow.output
    return raw


def job_to_raw(job: Job, dialect: Dialect = "seed") -> dict[str, Any]:
    raw: dict[str, Any] = {"id": job.id}
    for name in ("title", "description"):
        if getattr(job, name) is not None:
            raw[name] = getattr(job, name)
    raw["component"] = job.component
    if job.method is not None:
        raw["action" if dialect == "nested" else "method"] = job.method
    if job.input:
        raw["input"] = job.input
    if job.output != "${output}":
        raw["output"] = job.output
    if job.depends_on:
        raw["depends_on"] = job.depends_on
    return raw


def _with_blank_lines(text: str) -> str:
    """A blank line between top-level sections and between list items at their first level."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for index, line in enumerate(lines):
        top_key = index > 0 and not line.startswith((" ", "-", "#"))
        item = line.startswith("  - ") and index > 0 and not lines[index - 1].rstrip().endswith(":")
        if top_key or item:
            out.append("\n")
        out.append(line)
    return "".join(out)


# --- export over the original text ----------------------------------------------------------

def _get(root: Any, path: tuple[Segment, ...] | list[Segment]) -> Any:
    node = root
    for seg in path:
        if isinstance(node, dict) and seg in node:
            node = node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and -len(node) <= seg < len(node):
            node = node[seg]
        else:
            return _MISSING
    return node


def _set(root: Any, path: tuple[Segment, ...] | list[Segment], value: Any) -> None:
    node = root
    for seg in path[:-1]:
        nxt = _get(node, [seg])
        if not isinstance(nxt, (dict, list)):
            nxt = {}
            node[seg] = nxt
        node = nxt
    node[path[-1]] = value


def _delete(root: Any, path: tuple[Segment, ...] | list[Segment]) -> None:
    parent = _get(root, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        del parent[path[-1]]


def _updated_raw(parsed: ParseResult, doc: ComposeFile, dialect: Dialect) -> dict[str, Any]:
    """The original data with the document's changes applied in the original's layout."""
    old = parsed.file
    assert old is not None
    data = copy.deepcopy(parsed.read.data)
    layouts = {layout.normalized.id: layout for layout in parsed.components}
    components = []
    for component in doc.components:
        layout = layouts.get(component.id)
        before = old.component(component.id)
        if layout is None or before is None:
            components.append(component_to_raw(component, dialect))
            continue
        raw = _get(data, split(layout.path))
        components.append(update_component(raw, layout.normalized, before, component))
    _put_section(data, "components", "component", components)

    workflows = []
    for workflow in doc.workflows:
        before = old.workflow(workflow.id)
        path = parsed.workflow_paths.get(workflow.id)
        if before is None or path is None:
            workflows.append(workflow_to_raw(workflow, doc, dialect))
            continue
        workflows.append(_update_workflow(_get(data, split(path)), before, workflow, parsed, dialect))
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
        if not same(old.other_sections.get(name, _MISSING), value):
            data[name] = value
    return data


def _put_section(data: dict[str, Any], plural: str, singular: str, items: list[dict[str, Any]]) -> None:
    if singular in data and plural not in data and len(items) == 1:
        data[singular] = items[0]
        return
    data.pop(singular, None)
    if items or plural in data:
        data[plural] = items


def update_component(raw: dict[str, Any], norm: Normalized, before: ComponentDoc,
                     after: ComponentDoc) -> dict[str, Any]:
    """``raw`` (as written) changed to say ``after``, each field where the file wrote it."""
    style: Dialect = "nested" if norm.nested else "seed"
    if before.type != after.type:
        return component_to_raw(after, style)
    raw = copy.deepcopy(raw)
    rebuild = False
    names = list(before.fields) + [n for n in after.fields if n not in before.fields]
    for name in names:
        old_value = before.fields.get(name, _MISSING)
        new_value = after.fields.get(name, _MISSING)
        if old_value is not _MISSING and new_value is not _MISSING and same(old_value, new_value):
            continue
        origin = norm.origins.get(name)
        if origin is not None and origin.exact:
            if new_value is _MISSING:
                _delete(raw, origin.path)
            else:
                _set(raw, origin.path, new_value)
        elif origin is not None:
            if name == "quantization" and new_value in QUANT_SHORTHANDS.values():
                _set(raw, origin.path, new_value)
            elif name == "peft_adapter" and new_value is _MISSING:
                _delete(raw, origin.path)  # the nested lora: block
            else:
                rebuild = True
        elif new_value is not _MISSING:
            _insert(raw, _place(raw, name, norm, after.type), new_value)
    if rebuild:
        return _keep_order(raw, component_to_raw(after, style))
    if before.actions != after.actions or before.default_action != after.default_action:
        raw["actions"] = _actions_to_raw(after, style)
    return raw


def _place(raw: dict[str, Any], name: str, norm: Normalized, component_type: str) -> tuple[Segment, ...]:
    """Where a field new to a written component goes, following how it is written."""
    if component_type == "model-trainer":
        peft = norm.origins.get("peft_adapter")
        if name in LORA_FIELDS and peft is not None and not peft.exact:
            return (*peft.path, _FLAT_TO_LORA[name])
        quant = norm.origins.get("quantization")
        if name in QUANT_DETAIL_FIELDS and quant is not None:
            if quant.path[-1] == "type":
                return (*quant.path[:-1], _FLAT_TO_QUANT[name])
            if norm.nested:
                written = _get(raw, quant.path)
                _set(raw, quant.path, {"type": written})
                return (*quant.path, _FLAT_TO_QUANT[name])
        if isinstance(raw.get("action"), dict) and name not in TRAINER_OUTSIDE_ACTION:
            return ("action", name)
    elif isinstance(raw.get("action"), dict):
        return ("action", name)
    return (name,)


def _insert(raw: dict[str, Any], path: tuple[Segment, ...], value: Any) -> None:
    """Set a new key, next to the keys that come before it in the canonical field order."""
    container = _get(raw, path[:-1]) if len(path) > 1 else raw
    if not isinstance(container, dict):
        _set(raw, path, value)
        return
    rank = {name: i for i, name in enumerate(_CANONICAL_ORDER)}
    key = path[-1]
    target = rank.get(_FLAT_NAMES.get(key, key))
    anchor = None
    if target is not None:
        before = [k for k in container if rank.get(_FLAT_NAMES.get(k, k), len(rank)) < target]
        anchor = max(before, key=lambda k: rank[_FLAT_NAMES.get(k, k)]) if before else None
    items = list(container.items())
    position = len(items) if anchor is None else [k for k, _ in items].index(anchor) + 1
    items.insert(position, (key, value))
    container.clear()
    container.update(items)


def _keep_order(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    ordered = {k: after[k] for k in before if k in after}
    ordered.update({k: v for k, v in after.items() if k not in ordered})
    return ordered


def _update_workflow(raw: dict[str, Any], before: Workflow, after: Workflow, parsed: ParseResult,
                     dialect: Dialect) -> dict[str, Any]:
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
    raw_jobs = raw.get("jobs") if isinstance(raw.get("jobs"), list) else []
    jobs = []
    for job in after.jobs:
        layout = parsed.jobs.get((before.id, job.id))
        if job.id not in old_jobs or layout is None:
            jobs.append(job_to_raw(job, dialect))
            continue
        index = split(layout.path)[-1]
        jobs.append(_update_job(raw_jobs[index], old_jobs[job.id], job, layout.method_key))
    raw["jobs"] = jobs
    return raw


def _update_job(raw: dict[str, Any], before: Job, after: Job, method_key: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    defaults: dict[str, Any] = {"method": None, "input": {}, "output": "${output}", "depends_on": [],
                                "title": None, "description": None}
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


# --- set_field / remove_field ---------------------------------------------------------------

def _edit(text: str, path: str, value: Any) -> str:
    parsed = parse(text)
    if not isinstance(parsed.read.data, dict):
        raise ValueError("the text is not a compose file mapping; fix its YAML first")
    segments = split(path)
    data = copy.deepcopy(parsed.read.data)
    for layout in parsed.components:
        prefix = split(layout.path)
        rest = segments[len(prefix):]
        if segments[: len(prefix)] != prefix or not rest or not isinstance(rest[0], str):
            continue
        # A written path (``lora.rank``, ``action.learning_rate``) edits the field written there.
        # A raw path shared by several fields (a nested load's ``action.path``) is edited as written.
        written = [(name, origin) for name, origin in layout.normalized.origins.items()
                   if tuple(rest[: len(origin.path)]) == origin.path and (len(origin.path) > 1 or not origin.exact)]
        if len(written) == 1:
            name, origin = written[0]
            rest = [name, *rest[len(origin.path):]]
        model = COMPONENT_TYPES.get(str(layout.normalized.type))
        before = parsed.file.component(layout.normalized.id) if parsed.file else None
        if model is None or before is None or rest[0] not in model.model_fields or rest[0] in ("id", "type"):
            break
        fields = copy.deepcopy(before.fields)
        if len(rest) == 1:
            if value is _MISSING:
                fields.pop(rest[0], None)
            else:
                fields[rest[0]] = value
        elif value is _MISSING:
            _delete(fields, rest)
        else:
            _set(fields, rest, value)
        after = before.model_copy(update={"fields": fields})
        _set(data, prefix, update_component(_get(data, prefix), layout.normalized, before, after))
        return rewrite(text, data)
    if value is _MISSING:
        _delete(data, segments)
    else:
        _set(data, segments, value)
    return rewrite(text, data)
