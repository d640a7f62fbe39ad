"""ComposeFile -> YAML text, in the seed (flat) or the nested dialect.

Without ``original`` the whole file is written in the chosen dialect. With the text the
document was loaded from, only what changed is rewritten, where the file wrote it
(``lora.rank`` stays nested, a field under ``action:`` stays there); comments, key order
and untouched lines are kept byte for byte, and an unchanged document comes back as
the original text. New components and jobs take the file's dialect. Asking for the
dialect the file is not written in rewrites the whole file in it (comments cannot
follow a change of shape).

Export writes what the document says: bindings such as ``${env.HF_TOKEN}`` stay
bindings, and nothing resolved at run time is ever written.
"""

from __future__ import annotations

import copy
from typing import Any

from compose.document_edit.inplace import delete_at, get_at, set_at, update_component, updated_raw
from compose.document_edit.shapes import MISSING, TRAINER_OUTSIDE_ACTION, Dialect, document_to_raw, with_blank_lines
from compose.loader import parse
from compose.schema.components import COMPONENT_TYPES
from compose.schema.workflow import ComposeFile
from compose.yamlio.edit import rewrite
from compose.yamlio.paths import split
from compose.yamlio.render import dump_block


def export_yaml(doc: ComposeFile, dialect: Dialect | None = None, *, original: str | None = None) -> str:
    """The document as YAML text.

    ``dialect=None`` keeps the layout ``original`` was written in (seed when there is no
    original or it says nothing dialect-specific): what an editor saving a change wants.
    A named dialect is what an export asks for: over an original already written that
    way only the changes are rewritten; otherwise the whole file is written in it.
    """
    if dialect not in (None, "seed", "nested"):
        raise ValueError(f"unknown dialect {dialect!r}: seed or nested")
    if original is not None:
        parsed = parse(original)
        if parsed.file is not None and isinstance(parsed.read.data, dict):
            written = written_dialects(parsed.read.data)
            if dialect is None:
                dialect = "nested" if written == {"nested"} else "seed"
            elif _opposite(dialect) in written:
                return with_blank_lines(dump_block(document_to_raw(doc, dialect)))
            if parsed.file == doc:
                return original
            return rewrite(original, updated_raw(parsed, doc, dialect))
    return with_blank_lines(dump_block(document_to_raw(doc, dialect or "seed")))


# A model component's settings that model-compose's own form keeps beside ``type`` too.
MODEL_OUTSIDE_ACTION: tuple[str, ...] = (
    "task",
    "model",
    "peft_adapters",
    "precision",
    "quantization",
    "device",
    "max_seq_length",
)
_NEUTRAL_KEYS = frozenset({"id", "type", "title", "description", "quantization"})
_NESTED_KEYS = frozenset({"action", "actions", "driver", "lora"})


def written_dialects(data: Any) -> set[str]:
    """Which dialects the raw YAML data uses: {"seed"}, {"nested"}, both, or none
    (a file with nothing that differs between them)."""
    found: set[str] = set()
    if not isinstance(data, dict):
        return found
    for component in _section(data, "components", "component"):
        if not isinstance(component, dict):
            continue
        keys = set(component)
        if keys & _NESTED_KEYS or isinstance(component.get("quantization"), dict):
            found.add("nested")
        outside = (
            TRAINER_OUTSIDE_ACTION
            if component.get("type") == "model-trainer"
            else MODEL_OUTSIDE_ACTION
            if component.get("type") == "model"
            else ()
        )
        if keys - _NEUTRAL_KEYS - _NESTED_KEYS - set(outside):
            found.add("seed")
    for workflow in _section(data, "workflows", "workflow"):
        for job in (workflow.get("jobs") or []) if isinstance(workflow, dict) else []:
            if isinstance(job, dict):
                found |= {"nested"} if "action" in job else {"seed"} if "method" in job else set()
    return found


def _section(data: dict[str, Any], plural: str, singular: str) -> list[Any]:
    items = data.get(plural, [data[singular]] if singular in data else [])
    return items if isinstance(items, list) else []


def _opposite(dialect: Dialect) -> str:
    return "nested" if dialect == "seed" else "seed"


def set_field(text: str, path: str, value: Any) -> str:
    """``text`` with the value at ``path`` set, everything else kept as written.

    ``path`` names a canonical field (``components[1].learning_rate``, written under
    ``action:`` in a nested file) or any written key (``workflows[0].jobs[1].input.x``).
    """
    return _edit(text, path, value)


def remove_field(text: str, path: str) -> str:
    """``text`` without the key at ``path`` (a no-op when it is not there)."""
    return _edit(text, path, MISSING)


def append_item(text: str, list_path: str, item: Any) -> str:
    """``text`` with ``item`` added at the end of the list at ``list_path`` (created when
    missing), e.g. a new component or job; everything else kept as written."""
    data = _data(text)
    items = get_at(data, split(list_path))
    if items is MISSING or items is None:
        set_at(data, split(list_path), [item])
    elif isinstance(items, list):
        items.append(item)
    else:
        raise ValueError(f"{list_path} is not a list")
    return rewrite(text, data)


def remove_item(text: str, list_path: str, index: int) -> str:
    """``text`` without item ``index`` of the list at ``list_path``."""
    data = _data(text)
    items = get_at(data, split(list_path))
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


def _edit(text: str, path: str, value: Any) -> str:
    parsed = parse(text)
    if not isinstance(parsed.read.data, dict):
        raise ValueError("the text is not a compose file mapping; fix its YAML first")
    segments = split(path)
    data = copy.deepcopy(parsed.read.data)
    for layout in parsed.components:
        prefix = split(layout.path)
        rest = segments[len(prefix) :]
        if segments[: len(prefix)] != prefix or not rest or not isinstance(rest[0], str):
            continue
        # A written path (``lora.rank``, ``action.learning_rate``) edits the field written there.
        # A raw path shared by several fields (a nested load's ``action.path``) is edited as written.
        written = [
            (name, origin)
            for name, origin in layout.normalized.origins.items()
            if tuple(rest[: len(origin.path)]) == origin.path and (len(origin.path) > 1 or not origin.exact)
        ]
        if len(written) == 1:
            name, origin = written[0]
            rest = [name, *rest[len(origin.path) :]]
        model = COMPONENT_TYPES.get(str(layout.normalized.type))
        before = parsed.file.component(layout.normalized.id) if parsed.file else None
        if model is None or before is None or rest[0] not in model.model_fields or rest[0] in ("id", "type"):
            break
        fields = copy.deepcopy(before.fields)
        if len(rest) == 1:
            if value is MISSING:
                fields.pop(rest[0], None)
            else:
                fields[rest[0]] = value
        elif value is MISSING:
            delete_at(fields, rest)
        else:
            set_at(fields, rest, value)
        after = before.model_copy(update={"fields": fields})
        set_at(data, prefix, update_component(get_at(data, prefix), layout.normalized, before, after))
        return rewrite(text, data)
    if value is MISSING:
        delete_at(data, segments)
    else:
        set_at(data, segments, value)
    return rewrite(text, data)
