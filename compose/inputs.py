"""A workflow's inputs, derived from the ``${input.*}`` bindings it uses (SPEC §4).

The run form and ``compose run`` are built from :func:`workflow_inputs`. An input is
used in a job's ``input:`` values, in the fields of the components its jobs use, and
in job and workflow ``output:``. A component's ``${input.X}`` that its job fills with
``input: {X: ...}`` belongs to the job, not to the workflow; a component field that
the job's input overrides is not read at all.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from compose.bindings import (
    Binding,
    BindingError,
    Hint,
    SelectHint,
    SliderHint,
    bindings_in,
    convert,
)
from compose.errors import ComposeError, Problem
from compose.schema.checks import check_field
from compose.schema.components import (
    ANY_METHOD_FIELD,
    COMPONENT_TYPES,
    DATASET_METHOD_FIELDS,
    DATASET_METHODS,
)
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow
from compose.suggest import did_you_mean

_NONE = type(None)


def field_type(component_type: str, name: str) -> str | None:
    """The binding type (text, number, integer, boolean, json) of a canonical field."""
    annotation = _annotation(component_type, name)
    if annotation is None:
        return None
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if annotation is str or typing.get_origin(annotation) is Literal:
        return "text"
    return "json"


def field_hint(component_type: str, name: str) -> Hint | None:
    """A select hint listing the allowed values of an enumerated field (optimizer, axis...)."""
    annotation = _annotation(component_type, name)
    if annotation is not None and typing.get_origin(annotation) is Literal:
        return SelectHint(tuple(str(option) for option in typing.get_args(annotation)))
    return None


def field_help(component_type: str, name: str) -> str:
    """The schema's description of a canonical field (empty for an unknown one)."""
    model = COMPONENT_TYPES.get(component_type)
    info = model.model_fields.get(name) if model is not None else None
    return (info.description or "") if info is not None else ""


def _annotation(component_type: str, name: str) -> Any:
    model = COMPONENT_TYPES.get(component_type)
    if model is None or name not in model.model_fields:
        return None
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not _NONE]
        if len(args) == 1:
            return args[0]
    return annotation


class InputError(ComposeError):
    """Run inputs that do not fit the workflow; ``problems`` has one entry per input."""

    def __str__(self) -> str:
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} with the inputs"
        return "\n".join([head, *(f"  {p.path}: {p.message}" for p in self.problems)])


@dataclass
class InputSpec:
    """One workflow input: what the run form shows and ``compose run`` accepts."""

    name: str
    type: str = "text"
    default: Any = None
    required: bool = True
    hint: Hint | None = None
    used_by: list[str] = field(default_factory=list)
    help: str = ""  # the description of the field it fills, when it fills one whole
    # (component type, field) of each field it fills whole: a value is checked against them
    fills: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "required": self.required,
            "hint": self.hint.to_dict() if self.hint else None,
            "used_by": list(self.used_by),
            "help": self.help,
        }


@dataclass
class _Use:
    binding: Binding
    path: str
    type: str
    hint: Hint | None
    explicit: bool
    help: str = ""
    fills: tuple[str, str] | None = None


def workflow_inputs(doc: ComposeFile, workflow_id: str | None = None) -> list[InputSpec]:
    """The inputs the workflow reads, in order of first use.

    Raises :class:`ComposeError` when there is no such workflow.
    """
    workflow = find_workflow(doc, workflow_id)
    w_index = doc.workflows.index(workflow)
    uses: list[_Use] = []
    for j, job in enumerate(workflow.jobs):
        path = f"workflows[{w_index}].jobs[{j}]"
        component = doc.component(job.component)
        uses += _job_input_uses(job, component, path)
        if component is not None:
            c_index = doc.components.index(component)
            uses += _component_uses(job, component, f"components[{c_index}]")
        uses += _uses_in(job.output, f"{path}.output", None, None)
    uses += _uses_in(workflow.output, f"workflows[{w_index}].output", None, None)
    return _merge(uses)


def find_workflow(doc: ComposeFile, workflow_id: str | None) -> Workflow:
    """The named workflow (or the only / default one); ComposeError saying which exist."""
    workflow = doc.workflow(workflow_id)
    if workflow is None:
        ids = [w.id for w in doc.workflows]
        if workflow_id is None:
            message = (
                "the file has no workflow"
                if not ids
                else "the file has several workflows; name one of " + ", ".join(ids)
            )
        else:
            message = f"no workflow `{workflow_id}`" + did_you_mean(workflow_id, ids)
        raise ComposeError([Problem("workflows", message)])
    return workflow


def _job_input_uses(job: Job, component: ComponentDoc | None, path: str) -> list[_Use]:
    ctype = component.type if component else ""
    reads = component_read_types(component, job) if component else {}
    uses: list[_Use] = []
    for key, value in job.input.items():
        if field_type(ctype, key) is not None:
            type_, hint = field_type(ctype, key), field_hint(ctype, key)
        else:
            type_, hint = reads.get(key, (None, None))
        fills = (ctype, key) if field_type(ctype, key) is not None else None
        uses += _uses_in(value, f"{path}.input.{key}", type_, hint, field_help(ctype, key), fills)
    return uses


# The fields that name a load's data: a job's input path replaces the other two (component_values).
LOAD_SOURCE_FIELDS: tuple[str, ...] = ("path", "data_files", "data_dir")


def component_action(component: ComponentDoc, job: Job) -> str | None:
    """The id of the named action ``job`` runs: its ``method`` when that names one, else
    the action marked default (or the only one); None for a component without actions."""
    if job.method in component.actions:
        return job.method
    if job.method is None and component.actions:
        return component.default_action or (next(iter(component.actions)) if len(component.actions) == 1 else None)
    return None


def component_values(component: ComponentDoc, job: Job) -> tuple[dict[str, Any], str]:
    """The component's fields for this job (a nested action's over the base) and the method.

    A job's ``method`` names a datasets operation or one of the component's actions; a
    job without one uses the action marked default (or the only one), else the
    component's own ``method`` (``load`` when unset). ``method`` is not in the fields,
    and neither are fields of another datasets operation: a shared ``dataset-ops``
    component with ``condition: ${input.condition}`` does not ask for a condition when a
    job uses it to concat.

    A load job whose input gives ``path`` (and neither ``data_files`` nor ``data_dir``)
    names its own data: the component's ``data_files`` and ``data_dir`` are left out, so
    two jobs of one loader read two files (the seed's merge of two loads).
    """
    values = dict(component.fields)
    action_id = component_action(component, job)
    if action_id is not None:
        action = {k: v for k, v in component.actions[action_id].items() if k not in ("id", "default")}
        values.update(action)
    if job.method in DATASET_METHODS:
        method = job.method
    else:
        method = values.get("method") or "load"
    # A method written as a mapping or a list is reported by the schema; here it is a name
    # that matches no operation.
    method = method if isinstance(method, str) else str(method)
    values.pop("method", None)
    if component.type == "datasets" and method in DATASET_METHOD_FIELDS:
        unused = ANY_METHOD_FIELD - DATASET_METHOD_FIELDS[str(method)]
        values = {k: v for k, v in values.items() if k not in unused}
        if method == "load" and "path" in job.input and not set(LOAD_SOURCE_FIELDS[1:]) & set(job.input):
            for name in LOAD_SOURCE_FIELDS[1:]:
                values.pop(name, None)
    return values, str(method)


def component_read_types(component: ComponentDoc, job: Job) -> dict[str, tuple[str | None, Hint | None]]:
    """``${input.X}`` the component reads as a whole field value -> that field's type and hint."""
    found: dict[str, tuple[str | None, Hint | None]] = {}
    for name, value in component_values(component, job)[0].items():
        if not isinstance(value, str):
            continue
        try:
            bindings = bindings_in(value)
        except BindingError:
            continue
        b = bindings[0] if len(bindings) == 1 else None
        if b is not None and b.raw == value.strip() and b.name:
            found.setdefault(
                b.name, (b.type or field_type(component.type, name), b.hint or field_hint(component.type, name))
            )
    return found


def _component_uses(job: Job, component: ComponentDoc, base: str) -> list[_Use]:
    uses: list[_Use] = []
    for name, value in component_values(component, job)[0].items():
        if name in job.input:
            continue  # the job's input overrides this field; its bindings are never read
        for use in _uses_in(
            value,
            f"{base}.{name}",
            field_type(component.type, name),
            field_hint(component.type, name),
            field_help(component.type, name),
            (component.type, name),
        ):
            if use.binding.name not in job.input:
                uses.append(use)
    return uses


def _uses_in(
    value: Any,
    path: str,
    type_: str | None,
    hint: Hint | None,
    help_text: str = "",
    fills: tuple[str, str] | None = None,
) -> list[_Use]:
    """``${input.*}`` uses in a value that fills a field of ``type_`` (None: unknown)."""
    if isinstance(value, Mapping):
        return [u for k, v in value.items() for u in _uses_in(v, f"{path}.{k}", "json", None)]
    if isinstance(value, list):
        return [u for i, v in enumerate(value) for u in _uses_in(v, f"{path}[{i}]", "json", None)]
    if not isinstance(value, str):
        return []
    try:
        bindings = bindings_in(value)
    except BindingError:
        return []  # reported by compose.graph.workflow_problems
    whole = len(bindings) == 1 and bindings[0].raw == value.strip()
    uses: list[_Use] = []
    for binding in bindings:
        uses += _binding_uses(binding, path, type_ if whole else "text", hint if whole else None)
    if whole:
        for use in uses:
            use.help, use.fills = help_text, fills
    return uses


def _binding_uses(binding: Binding, path: str, type_: str | None, hint: Hint | None) -> list[_Use]:
    uses: list[_Use] = []
    wanted = binding.type or type_
    if binding.source == "input" and binding.name and len(binding.path) == 1:
        uses.append(_Use(binding, path, wanted or "text", binding.hint or hint, explicit=binding.type is not None))
    elif binding.source == "input" and binding.name:
        uses.append(_Use(binding, path, "json", None, explicit=False))
    if binding.default is not None and not binding.default_quoted:
        try:
            inner = bindings_in(binding.default)
        except BindingError:
            inner = []
        inner_whole = len(inner) == 1 and inner[0].raw == binding.default
        for nested in inner:
            uses += _binding_uses(
                nested, path, wanted if inner_whole else "text", (binding.hint or hint) if inner_whole else None
            )
    return uses


def _merge(uses: Iterable[_Use]) -> list[InputSpec]:
    specs: dict[str, InputSpec] = {}
    explicit: set[str] = set()
    for use in uses:
        name = use.binding.name or ""
        spec = specs.get(name)
        if spec is None:
            spec = specs[name] = InputSpec(name=name, type=use.type, hint=use.hint, required=False, help=use.help)
        elif use.explicit and name not in explicit:
            spec.type, spec.hint = use.type, use.hint or spec.hint
        elif spec.hint is None and use.hint is not None:
            spec.hint = use.hint
        spec.help = spec.help or use.help
        if use.fills is not None and use.fills not in spec.fills:
            spec.fills.append(use.fills)
        if use.explicit:
            explicit.add(name)
        if use.binding.default is None:
            spec.required = True
        elif spec.default is None and not _has_binding(use.binding):
            try:
                spec.default = convert(use.binding.default, spec.type)
            except BindingError:
                spec.default = use.binding.default
        if use.path not in spec.used_by:
            spec.used_by.append(use.path)
    for spec in specs.values():
        if spec.required:
            spec.default = None
    return list(specs.values())


def _has_binding(binding: Binding) -> bool:
    if binding.default is None or binding.default_quoted:
        return False
    try:
        return bool(bindings_in(binding.default))
    except BindingError:
        return True


# --- values from a form or the command line -------------------------------------------


def coerce_inputs(specs: list[InputSpec], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for the inputs given in ``raw`` (strings from a form or CLI, or JSON values).

    Inputs left out (or given as an empty string) keep their binding's default; a
    required one is an error. Raises :class:`InputError` listing every bad value.
    """
    problems = input_problems(specs, raw)
    if problems:
        raise InputError(problems)
    by_name = {spec.name: spec for spec in specs}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if _blank(value):
            continue
        values[name] = convert(value, by_name[name].type, f"input `{name}`")
    return values


def input_problems(specs: list[InputSpec], raw: Mapping[str, Any]) -> list[Problem]:
    """Every problem with ``raw``: unknown names, missing required inputs, bad values."""
    by_name = {spec.name: spec for spec in specs}
    problems: list[Problem] = []
    for name in raw:
        if name not in by_name:
            takes = ", ".join(by_name) or "no inputs"
            problems.append(
                Problem(
                    f"inputs.{name}",
                    f"unknown input `{name}`" + did_you_mean(name, by_name) + f"; this workflow takes: {takes}",
                )
            )
    for spec in specs:
        value = raw.get(spec.name)
        if spec.name not in raw or _blank(value):
            if spec.required:
                problems.append(
                    Problem(
                        f"inputs.{spec.name}",
                        f"input `{spec.name}` is required ({spec.type}; used by {', '.join(spec.used_by)})",
                    )
                )
            continue
        try:
            typed = convert(value, spec.type, f"input `{spec.name}`")
        except BindingError as exc:
            problems.append(Problem(f"inputs.{spec.name}", str(exc)))
            continue
        message = _hint_problem(spec, typed) or _field_problem(spec, typed)
        if message:
            problems.append(Problem(f"inputs.{spec.name}", message))
    return problems


def _field_problem(spec: InputSpec, value: Any) -> str | None:
    """The value checked as each field it fills would check it (its range, its choices), so
    that nothing a job would refuse is queued."""
    for component_type, name in spec.fills:
        model = COMPONENT_TYPES.get(component_type)
        if model is None or name not in model.model_fields:
            continue
        _, message = check_field(model, name, value)
        if message:
            return f"input `{spec.name}` fills {name}: {message}"
    return None


def _hint_problem(spec: InputSpec, value: Any) -> str | None:
    if isinstance(spec.hint, SelectHint) and not _is_option(value, spec):
        return f"input `{spec.name}`: {value!r} is not one of {', '.join(spec.hint.options)}" + did_you_mean(
            str(value), spec.hint.options
        )
    if (
        isinstance(spec.hint, SliderHint)
        and isinstance(value, (int, float))
        and not spec.hint.min <= value <= spec.hint.max
    ):
        return f"input `{spec.name}`: {value} is outside {spec.hint.min}..{spec.hint.max}"
    return None


def _is_option(value: Any, spec: InputSpec) -> bool:
    """``value`` equals one of the select options read as the input's type (1e-4 == 0.0001)."""
    assert isinstance(spec.hint, SelectHint)
    for option in spec.hint.options:
        try:
            if convert(option, spec.type) == value or option == str(value):
                return True
        except BindingError:
            continue
    return False


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")
