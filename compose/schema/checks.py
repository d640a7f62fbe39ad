"""Checks of a component's literal values against the canonical models.

A document's component may hold ``${...}`` bindings that only a run can resolve, so
each field is validated on its own (with the canonical model's type and bounds), bound
fields are skipped, and the cross-field rules run on what is known.
"""

from __future__ import annotations

import re
import typing
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from compose.bindings import contains_binding
from compose.schema.components import (
    COMPONENT_TYPES,
    DatasetsComponent,
    ModelComponent,
    TrainerComponent,
    datasets_problems,
    datasets_warnings,
    model_problems,
    model_warnings,
    trainer_problems,
    trainer_warnings,
)
from compose.suggest import did_you_mean

# (field, message, severity)
FieldProblem = tuple[str, str, Literal["error", "warning"]]

# Trainer rules that depend on the task; skipped while the task itself is a binding.
_TASK_RULE_FIELDS = (
    "text_column",
    "prompt_column",
    "response_column",
    "system_column",
    "text_pair_column",
    "packing",
    "label_column",
    "chat_template",
    "lora_target_modules",
)


# Fields that take one of several shapes, described in words rather than as each
# shape's own complaint.
_SHAPES: dict[str, str] = {
    "data_files": "a path, a list of paths, or a mapping of split name to path(s)",
    "lora_target_modules": "a list of module names (or one name, such as all-linear)",
}
# Pydantic's names for union branches and validators in an error location.
_SCALAR_LOC = ("str", "int", "float", "bool", "none", "list[str]")
_MODEL_LOC = re.compile(r"^[A-Z][A-Za-z]+$")  # a nested model's class name (ModelSource)
_TYPE_LOC = re.compile(r"^(str|int|float|bool|list|dict|none|.*\[.*\]|function-.*|union\[.*)$")


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    field_type: Any = Annotated[info.annotation, info]  # built at run time
    return TypeAdapter(field_type)


def _leaf_types(annotation: Any) -> set[Any]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is Literal:
        return {Literal}
    if not args:
        return {annotation}
    found: set[Any] = set()
    for arg in args:
        found |= _leaf_types(arg)
    return found


def literal_choices(model: type[BaseModel], name: str) -> tuple[Any, ...]:
    """The allowed values of a ``Literal`` field (empty for other fields)."""

    def walk(annotation: Any) -> tuple[Any, ...]:
        if typing.get_origin(annotation) is Literal:
            return typing.get_args(annotation)
        for arg in typing.get_args(annotation):
            found = walk(arg)
            if found:
                return found
        return ()

    return walk(model.model_fields[name].annotation)


def coerce_number(model: type[BaseModel], name: str, value: Any) -> Any:
    """``"5e-5"`` -> ``5e-05`` for numeric fields (PyYAML reads 5e-5 as a string)."""
    if not isinstance(value, str):
        return value
    leaves = _leaf_types(model.model_fields[name].annotation)
    if not leaves & {int, float}:
        return value
    try:
        number = float(value.strip())
    except ValueError:
        return value
    if float not in leaves and number.is_integer():
        return int(number)
    return number


def check_field(model: type[BaseModel], name: str, value: Any) -> tuple[Any, str | None]:
    """Validate one literal field; returns (validated value, error message or None)."""
    value = coerce_number(model, name, value)
    choices = literal_choices(model, name)
    try:
        return _adapter(model, name).validate_python(value), None
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "value_error" and not exc.errors()[0]["loc"]:
            return None, plain_message(exc.errors()[0]["msg"].removeprefix("Value error, "))
        if choices and (isinstance(value, str) or value is None):
            names = [str(c) for c in choices]
            hint = did_you_mean(str(value), names, quote=False, prefix=bool(value), cutoff=0.5)
            return None, f"unknown {name} {value!r}{hint}; valid: {', '.join(names)}"
        if name in _SHAPES:
            return None, f"expected {_SHAPES[name]} (got {value!r})"
        # The problem's path names the field; name only what lies inside it (gpus, 1).
        errors = exc.errors()
        first = errors[0]
        if isinstance(value, dict):
            # A field that is text or an object, given an object: the object's problem counts.
            first = next((e for e in errors if e["loc"] and str(e["loc"][0]) not in _SCALAR_LOC), first)
        inner = ".".join(
            str(part) for part in first["loc"] if not _TYPE_LOC.match(str(part)) and not _MODEL_LOC.match(str(part))
        )
        got = first.get("input", value)
        message = plain_message(first["msg"].removeprefix("Value error, "))
        return None, f"{inner + ': ' if inner else ''}{message} (got {got!r})"


_WORDS: tuple[tuple[str, str], ...] = (
    ("Input should be", "should be"),
    ("a valid dictionary", "a mapping (key: value)"),
    ("a valid list", "a list"),
    ("a valid string", "text"),
)


def plain_message(message: str) -> str:
    """Pydantic's wording, shortened: 'should be a valid number' rather than 'Input should
    be a valid number, unable to parse string as a number.'"""
    message = message.split(", unable to")[0].rstrip(".")
    for pydantic_words, yaml_words in _WORDS:
        message = message.replace(pydantic_words, yaml_words)
    return message


def check_fields(component_type: str, fields: dict[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Field-by-field checks; returns the valid literal values and the problems."""
    model = COMPONENT_TYPES[component_type]
    known: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, value in fields.items():
        if name not in model.model_fields or contains_binding(value):
            continue
        checked, message = check_field(model, name, value)
        if message:
            problems.append((name, message, "error"))
        else:
            known[name] = checked
    return known, problems


def check_component(component_type: str, fields: dict[str, Any]) -> list[FieldProblem]:
    """Every problem of one component's fields (normalized, seed names)."""
    known, problems = check_fields(component_type, fields)
    if component_type == "model-trainer":
        problems += _trainer_cross_checks(fields, known)
    elif component_type == "datasets":
        problems += datasets_cross_checks(fields, known)
    elif component_type == "model":
        problems += _model_cross_checks(fields, known)
    return problems


def _model_cross_checks(fields: dict[str, Any], known: dict[str, Any]) -> list[FieldProblem]:
    if "task" not in fields:
        return [("task", "task is required: text-generation, chat-completion or text-classification", "error")]
    if "task" not in known:
        return []  # bound, or reported as a bad value
    values = dict(known)
    for name in fields:
        if name in ModelComponent.model_fields:
            values.setdefault(name, "${bound}")  # bound, or its own problem is reported already
    partial = ModelComponent.model_construct(**values)
    partial.model_fields_set.intersection_update(fields)
    found: list[FieldProblem] = [(n, m, "error") for n, m in model_problems(partial)]
    found += [(n, m, "warning") for n, m in model_warnings(partial)]
    return found


def datasets_cross_checks(
    fields: dict[str, Any], known: dict[str, Any] | None = None, *, final: bool = False
) -> list[FieldProblem]:
    """The cross-field rules of a datasets component (or, ``final``, of what a job runs:
    the component's fields with the job's input over them), on what is known before the run.

    A bound field counts as set, with a value no rule matches.
    """
    if known is None:
        known, _ = check_fields("datasets", fields)
    values = dict(known)
    for name, value in fields.items():
        if name in DatasetsComponent.model_fields and contains_binding(value):
            values.setdefault(name, "${bound}")
    partial = DatasetsComponent.model_construct(**values)
    found: list[FieldProblem] = [(n, m, "error") for n, m in datasets_problems(partial)]
    found += [(n, m, "warning") for n, m in datasets_warnings(partial, final)]
    return found


def _trainer_cross_checks(fields: dict[str, Any], known: dict[str, Any]) -> list[FieldProblem]:
    if "task" not in fields:
        return [("task", "task is required: sft or classification", "error")]
    values = dict(known)
    bound = {n for n, v in fields.items() if contains_binding(v)}
    # A bound switch may turn out either way; assume the reading that reports less.
    if "peft_adapter" in bound:
        values["peft_adapter"] = "lora"
    if "quantization" in bound:
        values["quantization"] = "nf4"
    for name in bound - {"peft_adapter", "quantization", "task"}:
        if name in TrainerComponent.model_fields and name not in ("fp16", "bf16", "packing"):
            values.setdefault(name, "${bound}")
    task_bound = "task" in bound
    if task_bound or "task" not in values:
        values["task"] = "sft"
    partial = TrainerComponent.model_construct(**values)
    found: list[FieldProblem] = [(n, m, "error") for n, m in trainer_problems(partial)]
    found += [(n, m, "warning") for n, m in trainer_warnings(partial)]
    if task_bound:
        found = [p for p in found if p[0] not in _TASK_RULE_FIELDS]
    return found
