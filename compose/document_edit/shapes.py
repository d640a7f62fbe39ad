"""The YAML shape of a document in each dialect: what export writes for a model."""

from __future__ import annotations

from typing import Any, Literal

from compose.dialects import FILE_BUILDERS, LORA_NESTED, MODEL_ACTION_FIELDS, MODEL_PARAMS_FIELDS, QUANT_NESTED
from compose.schema.components import COMPONENT_TYPES, LORA_FIELDS, QUANT_DETAIL_FIELDS
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow

Dialect = Literal["seed", "nested"]
MISSING: Any = object()
# Trainer fields the nested dialect keeps beside ``type`` rather than under ``action:``.
TRAINER_OUTSIDE_ACTION: tuple[str, ...] = ("task", "model", "tokenizer", "chat_template", "resources")
FLAT_TO_LORA = {flat: nested for nested, flat in LORA_NESTED.items()}
FLAT_TO_QUANT = {flat: nested for nested, flat in QUANT_NESTED.items()}


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
    elif component.type == "model":
        raw.update(model_nested(fields))
    else:
        raw["driver"] = "huggingface"
        action = _datasets_action_nested(fields)
        if action:
            raw["action"] = action
    if component.actions:
        raw["actions"] = actions_to_raw(component, dialect)
    return raw


def actions_to_raw(component: ComponentDoc, dialect: Dialect) -> list[dict[str, Any]]:
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
    peft = fields.pop("peft_adapter", MISSING)
    if peft == "lora":
        out["lora"] = {FLAT_TO_LORA[n]: fields.pop(n) for n in LORA_FIELDS if n in fields}
    elif peft is not MISSING:
        fields = {"peft_adapter": peft, **fields}  # a binding or null: kept flat
    quant = fields.pop("quantization", MISSING)
    details = {FLAT_TO_QUANT[n]: fields.pop(n) for n in QUANT_DETAIL_FIELDS if n in fields}
    if details:
        out["quantization"] = {**({"type": quant} if quant is not MISSING else {}), **details}
    elif quant is not MISSING:
        out["quantization"] = quant
    if fields:
        out["action"] = fields
    return out


def model_nested(fields: dict[str, Any]) -> dict[str, Any]:
    """model-compose's layout: the input under ``action:``, generation settings under
    ``action.params``, the model's own settings beside ``type``."""
    params = {name: fields.pop(name) for name in MODEL_PARAMS_FIELDS if name in fields}
    action = {name: fields.pop(name) for name in MODEL_ACTION_FIELDS if name in fields}
    if params:
        action["params"] = params
    if action:
        fields["action"] = action
    return fields


def _datasets_action_nested(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "method" in fields:
        out["method"] = fields.pop("method")
    if (
        out.get("method", "load") == "load"
        and fields.get("provider") == "local"
        and fields.get("loader") in FILE_BUILDERS
        and "path" not in fields
    ):
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


def with_blank_lines(text: str) -> str:
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
