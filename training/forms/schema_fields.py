"""Form field descriptions derived from the canonical pydantic models.

Names, defaults, enumerations and bounds come from ``compose.schema.components``;
the only things written here are the grouping (as the seed groups its sections)
and help text where the schema has no ``description`` yet.
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

# What kind of input a field needs.
Kind = Literal["text", "integer", "number", "boolean", "choice", "list", "mapping", "value"]


@dataclass(frozen=True)
class FieldSpec:
    name: str  # the YAML key, possibly dotted for nested models ("resources.gpus")
    kind: Kind
    default: Any
    required: bool
    choices: tuple[str, ...] = ()
    help: str = ""
    bounds: str = ""  # "≥ 1", "> 0, ≤ 1"

    @property
    def label(self) -> str:
        return self.name.split(".")[-1].replace("_", " ")

    @property
    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.default is None:
            return "not set"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)


@dataclass(frozen=True)
class FieldGroup:
    title: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return Union[tuple(args)], optional  # type: ignore[return-value]
    return annotation, False


def _kind_of(annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    annotation, _ = _unwrap_optional(annotation)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "choice", tuple(str(a) for a in typing.get_args(annotation))
    if annotation is bool:
        return "boolean", ()
    if annotation is int:
        return "integer", ()
    if annotation is float:
        return "number", ()
    if annotation is str:
        return "text", ()
    if origin is list:
        return "list", ()
    if origin is dict:
        return "mapping", ()
    if origin in (Union, types.UnionType):
        args = typing.get_args(annotation)
        if any(typing.get_origin(a) is dict for a in args):
            return "mapping", ()  # e.g. data_files: a path, a list or a split mapping
        if all(a is str or typing.get_origin(a) is list for a in args):
            return "list", ()  # a single name or a list of names
    return "value", ()  # Any: a data set reference, usually a ${...} binding


def _bounds(info: FieldInfo) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    return None


def model_field_specs(model: type[BaseModel], help_texts: dict[str, str],
                      prefix: str = "") -> dict[str, FieldSpec]:
    """Every field of ``model`` (nested models flattened to dotted names), in order."""
    out: dict[str, FieldSpec] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        full = f"{prefix}{key}"
        annotation, optional = _unwrap_optional(info.annotation)
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if is_model and not optional:  # e.g. resources: one input per sub-field
            out.update(model_field_specs(annotation, help_texts, prefix=f"{full}."))
            continue
        kind, choices = ("mapping", ()) if is_model else _kind_of(info.annotation)
        out[full] = FieldSpec(
            name=full, kind=kind, default=_default(info), required=info.is_required(),
            choices=choices, help=info.description or help_texts.get(full, ""), bounds=_bounds(info),
        )
    return out


def grouped(specs: dict[str, FieldSpec], layout: tuple[tuple[str, tuple[str, ...]], ...],
            leftover_title: str = "Other") -> list[FieldGroup]:
    """Arrange specs by ``layout``; a field the layout misses lands in a last group, never lost."""
    placed: set[str] = set()
    groups = []
    for title, names in layout:
        fields = tuple(specs[n] for n in names if n in specs)
        placed.update(n for n in names if n in specs)
        if fields:
            groups.append(FieldGroup(title, fields))
    rest = tuple(s for n, s in specs.items() if n not in placed)
    if rest:
        groups.append(FieldGroup(leftover_title, rest))
    return groups
