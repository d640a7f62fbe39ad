"""Form field descriptions derived from the canonical pydantic models.

Everything a form shows of a field comes from ``compose.schema.components``: its name,
default, choices, bounds, help (the field's ``description``), unit and group. Adding a
field to the schema adds it to the editor; nothing is written here per field.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from compose.schema.components import COMPONENT_TYPES, DATASETS_OPERATIONS, field_extra

# The group of ``id`` and ``type``: shown in the page's heading, not as inputs.
IDENTITY_GROUP = "Component"

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
    unit: str = ""  # what a number counts: "steps", "tokens"
    group: str = ""

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
        return Union[tuple(args)], optional  # noqa: UP007 (built from a tuple)
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
        (item,) = typing.get_args(annotation) or (str,)
        # Names or numbers are typed as "a, b, c"; lists of objects are written in YAML.
        return ("list", ()) if item in (str, int, float) else ("mapping", ())
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


def model_field_specs(model: type[BaseModel], prefix: str = "", group: str = "") -> dict[str, FieldSpec]:
    """Every field of ``model`` (nested models flattened to dotted names), in order."""
    out: dict[str, FieldSpec] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        full = f"{prefix}{key}"
        field_group = group or field_extra(info, "group") or ""
        annotation, optional = _unwrap_optional(info.annotation)
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if is_model and not optional:  # e.g. resources: one input per sub-field
            out.update(model_field_specs(annotation, prefix=f"{full}.", group=field_group))
            continue
        kind, choices = ("mapping", ()) if is_model else _kind_of(info.annotation)
        out[full] = FieldSpec(
            name=full,
            kind=kind,
            default=_default(info),
            required=info.is_required(),
            choices=choices,
            help=info.description or "",
            bounds=_bounds(info),
            unit=field_extra(info, "unit") or "",
            group=field_group,
        )
    return out


def component_groups(component_type: str) -> list[FieldGroup]:
    """The editor's sections for a component type, in the order the schema first names them."""
    titles: dict[str, list[FieldSpec]] = {}
    for spec in model_field_specs(COMPONENT_TYPES[component_type]).values():
        if spec.group != IDENTITY_GROUP:
            titles.setdefault(spec.group or "Other", []).append(spec)
    return [FieldGroup(title, tuple(fields)) for title, fields in titles.items()]


def group_methods(component_type: str) -> dict[str, tuple[str, ...]]:
    """Section title -> the datasets operations that read its fields (the page hides the
    others while ``method`` names one); empty for other component types."""
    if component_type != "datasets":
        return {}
    out: dict[str, list[str]] = {}
    for method, op in DATASETS_OPERATIONS.items():
        for spec in model_field_specs(op).values():
            if spec.group != IDENTITY_GROUP and spec.name != "method":
                methods = out.setdefault(spec.group, [])
                if method not in methods:
                    methods.append(method)
    return {title: tuple(methods) for title, methods in out.items()}
