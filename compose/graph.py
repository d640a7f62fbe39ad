"""The job graph of a workflow: checks (SPEC §3-4) and run order.

:func:`workflow_problems` is called by the loader on every document; its problems
carry paths only (``workflows[0].jobs[2].depends_on``) and the loader adds lines.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from typing import Any

from compose.bindings import Binding, BindingError, iter_bindings, iter_strings
from compose.errors import Problem
from compose.inputs import component_action, component_values
from compose.schema.checks import datasets_cross_checks
from compose.schema.components import (
    ANY_METHOD_FIELD,
    COMPONENT_TYPES,
    DATASET_METHOD_FIELDS,
    DATASET_METHODS,
    DatasetsComponent,
)
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow
from compose.suggest import did_you_mean


def dependencies(workflow: Workflow) -> dict[str, list[str]]:
    """Job id -> the ids it depends on that exist in the workflow (first job of an id wins)."""
    ids = {job.id for job in workflow.jobs}
    graph: dict[str, list[str]] = {}
    for job in workflow.jobs:
        graph.setdefault(job.id, [d for d in job.depends_on if d in ids])
    return graph


def ancestors(workflow: Workflow, job_id: str) -> set[str]:
    """Every job ``job_id`` depends on, directly or through its dependencies."""
    graph = dependencies(workflow)
    seen: set[str] = set()
    stack = list(graph.get(job_id, []))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(graph.get(current, []))
    return seen


def terminal_jobs(workflow: Workflow) -> list[str]:
    """Jobs nothing depends on, in the order they are written."""
    needed = {dep for job in workflow.jobs for dep in job.depends_on}
    return [job.id for job in workflow.jobs if job.id not in needed]


def job_order(workflow: Workflow) -> list[list[str]]:
    """Batches of job ids; the jobs of a batch only depend on earlier batches.

    Raises :class:`graphlib.CycleError` on a loop.

    >>> from compose.schema.workflow import Job, Workflow
    >>> job_order(Workflow(id="w", jobs=[Job(id="a", component="c"), Job(id="b", component="c"),
    ...     Job(id="t", component="c", depends_on=["a", "b"])]))
    [['a', 'b'], ['t']]
    """
    position = {job.id: index for index, job in reversed(list(enumerate(workflow.jobs)))}
    sorter = graphlib.TopologicalSorter(dependencies(workflow))
    sorter.prepare()
    batches: list[list[str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        batches.append(ready)
        sorter.done(*ready)
    return batches


def component_field_names(component: ComponentDoc) -> set[str]:
    """Names a job's ``input:`` may set to override a field of ``component``."""
    model = COMPONENT_TYPES.get(component.type)
    names = set(model.model_fields) if model else set(component.fields)
    return names - {"id", "type"}


def component_input_names(component: ComponentDoc, method: str | None = None) -> set[str]:
    """The ``${input.X}`` names a component's fields (and the chosen action's) read."""
    values: list[Any] = [component.fields]
    if method and method in component.actions:
        values.append(component.actions[method])
    elif not method:
        values.extend(component.actions.values())
    names: set[str] = set()
    for value in values:
        for binding in _quiet_bindings(value):
            if binding.source == "input" and binding.name:
                names.add(binding.name)
    return names


def workflow_problems(doc: ComposeFile) -> list[Problem]:
    """Every graph and binding problem of the document's workflows (paths, no lines)."""
    problems: list[Problem] = []
    for index, component in enumerate(doc.components):
        base = f"components[{index}]"
        problems += _binding_problems(component.fields, base, own_output=False)
        for action_id, action in component.actions.items():
            problems += _binding_problems(action, f"{base}.actions.{action_id}", own_output=False)
            if component.type == "datasets":
                problems += _action_problems(component, action_id, f"{base}.actions.{action_id}")
    for index, workflow in enumerate(doc.workflows):
        problems += _workflow_problems(doc, workflow, f"workflows[{index}]")
    return problems


def _workflow_problems(doc: ComposeFile, workflow: Workflow, base: str) -> list[Problem]:
    problems: list[Problem] = []
    ids = [job.id for job in workflow.jobs]
    first_index: dict[str, int] = {}
    for j, job in enumerate(workflow.jobs):
        path = f"{base}.jobs[{j}]"
        if job.id in first_index:
            problems.append(Problem(f"{path}.id", f"duplicate job id `{job.id}` (also jobs[{first_index[job.id]}])"))
        else:
            first_index[job.id] = j
        for k, dep in enumerate(job.depends_on):
            if dep not in ids:
                problems.append(
                    Problem(
                        f"{path}.depends_on[{k}]",
                        f"no job `{dep}` in workflow `{workflow.id}`" + did_you_mean(dep, ids),
                    )
                )
        component = doc.component(job.component)
        if component is None:
            problems.append(
                Problem(
                    f"{path}.component",
                    f"no component `{job.component}`" + did_you_mean(job.component, [c.id for c in doc.components]),
                )
            )
        else:
            problems += _method_problems(job, component, path)
            problems += _input_key_problems(job, component, path)
            if component.type == "datasets":
                problems += _job_view_problems(job, component, path, f"components[{doc.components.index(component)}]")
        problems += _reads_problems(workflow, job, component, path)
    try:
        graphlib.TopologicalSorter(dependencies(workflow)).prepare()
    except graphlib.CycleError as exc:
        loop = list(exc.args[1])
        start = first_index.get(loop[0], 0)
        problems.append(
            Problem(f"{base}.jobs[{start}].depends_on", "jobs depend on each other in a loop: " + " -> ".join(loop))
        )
    output_bindings = _binding_problems(workflow.output, f"{base}.output", own_output=False)
    problems += output_bindings
    for where, binding in _located(workflow.output, f"{base}.output"):
        if binding.source == "jobs" and binding.job not in ids:
            problems.append(
                Problem(
                    where,
                    f"{binding.raw}: no job `{binding.job}` in workflow "
                    f"`{workflow.id}`" + did_you_mean(binding.job or "", ids),
                )
            )
    return problems


def _method_problems(job: Job, component: ComponentDoc, path: str) -> list[Problem]:
    if job.method is None:
        return []
    if component.type in ("model-trainer", "model"):
        return [
            Problem(
                f"{path}.method",
                f"component `{component.id}` is a {component.type}; its jobs take no method (remove `method:`)",
            )
        ]
    if component.type == "datasets":
        allowed = list(DATASET_METHODS) + list(component.actions)
        if job.method not in allowed:
            return [
                Problem(
                    f"{path}.method",
                    f"unknown method `{job.method}` for datasets "
                    f"component `{component.id}`; use one of {', '.join(allowed)}" + did_you_mean(job.method, allowed),
                )
            ]
    return []


def _action_problems(component: ComponentDoc, action_id: str, base: str) -> list[Problem]:
    """The datasets rules on a named action (over the component's fields), at the action's fields."""

    action = {k: v for k, v in component.actions[action_id].items() if k not in ("id", "default")}
    return [
        Problem(f"{base}.{name}", message, severity=severity)
        for name, message, severity in datasets_cross_checks({**component.fields, **action})
        if name in action
    ]


def _job_view_problems(job: Job, component: ComponentDoc, path: str, component_path: str) -> list[Problem]:
    """The datasets rules on what a job runs: the component's fields for its method with
    the job's input over them. A rule the component's own fields break is reported at the
    component by the loader; here it is reported where the job's input takes part."""

    values, method = component_values(component, job)
    if method not in DATASET_METHOD_FIELDS:
        return []
    unused = ANY_METHOD_FIELD - DATASET_METHOD_FIELDS[method]
    given = {k: v for k, v in job.input.items() if k in DatasetsComponent.model_fields and k not in unused}
    seen = {**values, **given, "method": method}
    action_id = component_action(component, job)
    action = component.actions.get(action_id, {}) if action_id else {}
    problems = []
    for name, message, severity in datasets_cross_checks(seen, final=True):
        if name in given:
            where = f"{path}.input.{name}"
        elif name in ("columns", "indices") and "axis" in given:
            where = f"{path}.input.axis"
        elif name in action:
            where = f"{component_path}.actions.{action_id}.{name}"
        elif name in component.fields:
            where = f"{component_path}.{name}"
        else:
            continue
        problems.append(Problem(where, message, severity=severity))
    return problems


def _input_key_problems(job: Job, component: ComponentDoc, path: str) -> list[Problem]:
    if component.type not in COMPONENT_TYPES:
        return []

    fields = component_field_names(component)
    reads = component_input_names(component, job.method)
    _, method = component_values(component, job)
    unused: frozenset[str] = frozenset()
    if component.type == "datasets" and method in DATASET_METHOD_FIELDS:
        unused = ANY_METHOD_FIELD - DATASET_METHOD_FIELDS[method]
    problems = []
    for key in job.input:
        if key not in fields and key not in reads:
            problems.append(
                Problem(
                    f"{path}.input.{key}",
                    f"`{key}` is neither a field of {component.type} component `{component.id}` "
                    f"nor an input it reads (${{input.{key}}})" + did_you_mean(key, fields | reads),
                )
            )
        elif key in unused and key not in reads:
            problems.append(
                Problem(f"{path}.input.{key}", f"`{key}` has no effect on a `{method}` job", severity="warning")
            )
    return problems


def _reads_problems(workflow: Workflow, job: Job, component: ComponentDoc | None, path: str) -> list[Problem]:
    problems: list[Problem] = []
    problems += _binding_problems(job.input, f"{path}.input", own_output=False)
    problems += _binding_problems(job.output, f"{path}.output", own_output=True)
    located = list(_located(job.input, f"{path}.input")) + list(_located(job.output, f"{path}.output"))
    if component is not None:
        for _where, binding in _located(component.fields, ""):
            located.append((f"{path}.component", binding))
    ids = [j.id for j in workflow.jobs]
    before = ancestors(workflow, job.id)
    reported: set[tuple[str, str | None]] = set()
    for where, binding in located:
        if binding.source != "jobs" or (where, binding.job) in reported:
            continue
        reported.add((where, binding.job))
        target = binding.job or ""
        if target == job.id:
            problems.append(
                Problem(
                    where,
                    f"{binding.raw}: a job cannot read its own output "
                    "here; its result is ${output} in the job's output:",
                )
            )
        elif target not in ids:
            problems.append(
                Problem(
                    where, f"{binding.raw}: no job `{target}` in workflow `{workflow.id}`" + did_you_mean(target, ids)
                )
            )
        elif target not in before:
            problems.append(
                Problem(
                    where,
                    f"{binding.raw}: job `{job.id}` reads the output of "
                    f"`{target}` but does not depend on it: add `{target}` to "
                    "depends_on",
                )
            )
    return problems


def _binding_problems(value: Any, base: str, *, own_output: bool) -> list[Problem]:
    """Malformed bindings, and ${output}/${result} outside a job's output:."""
    problems: list[Problem] = []
    for where, text in iter_strings(value, base):
        try:
            found = [b for _, b in iter_bindings(text)]
        except BindingError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        for binding in found:
            if binding.source in ("output", "result") and not own_output:
                problems.append(
                    Problem(
                        where,
                        f"{binding.raw}: ${{{binding.source}}} is the job's "
                        "own result and only works in a job's output:",
                    )
                )
    return problems


def _located(value: Any, base: str) -> Iterable[tuple[str, Binding]]:
    """(path, binding) for the well-formed bindings in ``value`` (bad ones are reported apart)."""
    for where, text in iter_strings(value, base):
        try:
            found = [b for _, b in iter_bindings(text)]
        except BindingError:
            continue
        for binding in found:
            yield where, binding


def _quiet_bindings(value: Any) -> list[Binding]:
    return [binding for _, binding in _located(value, "")]
