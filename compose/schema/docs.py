"""The field tables of ``docs/compose-format.md``, written from the schema.

``python -m compose.schema.docs`` rewrites the part of that file between its
``fields:begin`` and ``fields:end`` marks; a test fails while the file and the schema
disagree, so a field added to a model is documented by running this command.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from compose.schema.components import (
    DATASETS_OPERATIONS,
    ModelComponent,
    ModelSource,
    PeftAdapterSpec,
    ResourceSpec,
    TrainerComponent,
    field_extra,
)

BEGIN = "<!-- fields:begin (written by python -m compose.schema.docs; do not edit by hand) -->"
END = "<!-- fields:end -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "compose-format.md"

# (heading, model, fields shown) in the order the document presents them.
SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    *((f"`type: datasets`, `method: {method}`", op) for method, op in DATASETS_OPERATIONS.items()),
    ("`type: model-trainer`", TrainerComponent),
    ("`resources` (model-trainer)", ResourceSpec),
    ("`type: model`", ModelComponent),
    ("`model` as an object (model)", ModelSource),
    ("`peft_adapters[]` (model)", PeftAdapterSpec),
)
HIDDEN = ("id", "type", "method")


def type_text(annotation: Any) -> str:
    """A field's type as a reader of YAML thinks of it: ``integer``, ``one of: a, b``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_text(args[0])
    if origin is Literal:
        return "one of: " + ", ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        parts = [type_text(a) for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(parts))
    if origin is list:
        return f"list of {type_text(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    names = {bool: "boolean", int: "integer", float: "number", str: "text"}
    return names.get(annotation, "any (a data set reference or a binding)")


def _default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        return "see below"
    value = info.default
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def _range_text(info: FieldInfo) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    unit = field_extra(info, "unit")
    if unit:
        parts.append(unit)
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(model: type[BaseModel]) -> str:
    rows = ["| Field | Type | Default | Range, unit | Description |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if name in HIDDEN:
            continue
        key = info.alias or name
        rows.append(
            "| "
            + " | ".join(
                _cell(part)
                for part in (
                    f"`{key}`",
                    type_text(info.annotation),
                    _default_text(info),
                    _range_text(info),
                    info.description or "",
                )
            )
            + " |"
        )
    return "\n".join(rows)


def field_tables() -> str:
    return "\n\n".join(f"### {heading}\n\n{table(model)}" for heading, model in SECTIONS)


def rewritten(text: str) -> str:
    """``text`` with the part between the marks replaced by the current tables."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n\n" + field_tables() + "\n\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is out of date; write nothing")
    args = parser.parse_args(argv)
    text = DOC.read_text(encoding="utf-8")
    new = rewritten(text)
    if args.check:
        if new != text:
            print(f"{DOC} is out of date: run python -m compose.schema.docs", file=sys.stderr)
            return 1
        return 0
    if new != text:
        DOC.write_text(new, encoding="utf-8")
        print(f"wrote the field tables of {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
