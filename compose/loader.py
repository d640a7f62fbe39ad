"""Compose file text -> :class:`ComposeFile`, with every problem located.

``parse`` never raises on bad input: it returns the document it could build and every
problem found (YAML syntax, unknown keys, wrong values, cross-field rules, the job
graph), each with its path, line and column. ``load_compose`` raises
:class:`ComposeError` when any of them is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from compose.bindings import contains_binding
from compose.dialects import (
    JOB_KEYS,
    WORKFLOW_KEYS,
    Normalized,
    normalize_component,
    normalize_job,
)
from compose.errors import ComposeError, Problem
from compose.graph import workflow_problems
from compose.schema.checks import check_component, check_field, check_fields, plain_message
from compose.schema.components import COMPONENT_TYPES, DatasetsComponent
from compose.schema.workflow import ComponentDoc, ComposeFile, Job, Workflow
from compose.suggest import did_you_mean
from compose.yamlio.paths import join, split
from compose.yamlio.reader import ReadResult, read_yaml

TOP_LEVEL_KEYS: tuple[str, ...] = ("components", "component", "workflows", "workflow", "controller")
# model-compose sections compose-web keeps on export but does not run.
OTHER_SECTIONS: tuple[str, ...] = ("listener", "listeners", "gateway", "gateways", "logger", "loggers")
DEFAULT_ID = "default"  # the id of a singular ``component:``/``workflow:`` written without one
# A field check's problem inside one list item: "0.weight: should be ..." (see _component).
_ITEM_PROBLEM = re.compile(r"^(\d+(?:\.[A-Za-z_]\w*)*): (.+)$", re.S)


@dataclass
class ComponentLayout:
    """Where a component sits in the text and how its fields were written."""

    path: str  # "components[1]" or "component"
    normalized: Normalized


@dataclass
class JobLayout:
    path: str  # "workflows[0].jobs[2]"
    method_key: str  # "method" or "action"


@dataclass
class ParseResult:
    file: ComposeFile | None
    problems: list[Problem] = field(default_factory=list)
    source: str = "<string>"
    read: ReadResult = field(default_factory=ReadResult)
    components: list[ComponentLayout] = field(default_factory=list)
    jobs: dict[tuple[str, str], JobLayout] = field(default_factory=dict)  # (workflow id, job id)
    workflow_paths: dict[str, str] = field(default_factory=dict)  # workflow id -> path

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.file is not None and not self.errors

    @property
    def positions(self) -> dict[str, tuple[int, int]]:
        """Every written path -> (line, column), both 1-based."""
        return {path: located.line_column for path, located in self.read.nodes.items()}

    def locate(self, path: str) -> tuple[int, int] | None:
        """Line and column of ``path`` (or of its closest written ancestor)."""
        return self.read.locate(path)

    def component_path(self, component_id: str) -> str | None:
        return next((c.path for c in self.components if c.normalized.id == component_id), None)


class _Collector:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, source=self.source))

    def warning(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, severity="warning", source=self.source))


def parse(text: str, source: str = "<string>") -> ParseResult:
    """Read and validate a compose file; never raises on bad input."""
    read = read_yaml(text, source)
    result = ParseResult(file=None, problems=list(read.problems), source=source, read=read)
    if read.problems and read.data is None:
        return result
    out = _Collector(source)
    data = read.data
    if data is None:
        out.problems.append(Problem("", "the file is empty: expected components: and workflows:", 1, 1, source=source))
    elif not isinstance(data, dict):
        out.error("", "expected a mapping with components: and workflows: at the top level")
    else:
        result.file = _build(data, result, out)
    result.problems += out.problems
    if result.file is not None:
        result.problems += _graph_problems(result, source)
    for problem in result.problems:
        if problem.line is None:
            where = read.locate(problem.path)
            if where:
                problem.line, problem.column = where
    result.problems = _dedupe(result.problems)
    result.problems.sort(key=lambda p: (p.line or 0, p.column or 0))
    return result


def load_compose(text: str, source: str = "<string>") -> ComposeFile:
    """The validated document; raises :class:`ComposeError` listing every error."""
    result = parse(text, source)
    if result.errors or result.file is None:
        raise ComposeError(result.errors or result.problems)
    return result.file


def load_compose_file(path: str | Path) -> ComposeFile:
    path = Path(path)
    return load_compose(path.read_text(encoding="utf-8"), source=str(path))


# --- building the document --------------------------------------------------------------


def _build(data: dict[str, Any], result: ParseResult, out: _Collector) -> ComposeFile:
    doc = ComposeFile()
    for key, value in data.items():
        if key in TOP_LEVEL_KEYS:
            continue
        if key in OTHER_SECTIONS:
            out.warning(str(key), f"{key} is not run by compose-web; it is kept as written")
        else:
            hint = did_you_mean(str(key), TOP_LEVEL_KEYS, quote=False, cutoff=0.75)
            if hint:
                out.error(str(key), f"unknown top-level key {key}{hint}")
            else:
                out.warning(str(key), f"{key} is not run by compose-web; it is kept as written")
        doc.other_sections[str(key)] = value
    if "controller" in data:
        controller = data["controller"]
        if controller is not None and not isinstance(controller, dict):
            out.error("controller", "controller: expected a mapping")
        else:
            doc.controller = controller
    for raw, path in _items(data, "components", "component", out):
        component = _component(raw, path, path == "component", result, out)
        if component is not None:
            doc.components.append(component)
    _duplicates([(c.id, result.components[i].path) for i, c in enumerate(doc.components)], "component", out)
    for raw, path in _items(data, "workflows", "workflow", out):
        workflow = _workflow(raw, path, path == "workflow", doc, result, out)
        if workflow is not None:
            doc.workflows.append(workflow)
            result.workflow_paths[workflow.id] = path
    _duplicates([(w.id, result.workflow_paths.get(w.id, "workflows")) for w in doc.workflows], "workflow", out)
    return doc


def _items(data: dict[str, Any], plural: str, singular: str, out: _Collector) -> list[tuple[Any, str]]:
    if plural in data and singular in data:
        out.error(singular, f"give either {plural}: (a list) or {singular}: (one item), not both")
    if singular in data:
        return [(data[singular], singular)]
    value = data.get(plural)
    if value is None:
        return []
    if not isinstance(value, list):
        out.error(plural, f"{plural}: expected a list (each item starts with '- id: ...')")
        return []
    return [(item, join(plural, i)) for i, item in enumerate(value)]


def _duplicates(ids: list[tuple[Any, str]], what: str, out: _Collector) -> None:
    seen: set[Any] = set()
    for item_id, path in ids:
        if item_id in seen:
            out.error(join(path, "id"), f"{what} id {item_id} is used more than once")
        seen.add(item_id)


def _component(raw: Any, path: str, singular: bool, result: ParseResult, out: _Collector) -> ComponentDoc | None:
    if not isinstance(raw, dict):
        out.error(path, "a component must be a mapping with id: and type:")
        return None
    if raw.get("id") is None and singular:
        raw = {"id": DEFAULT_ID, **raw}
    component_id, component_type = raw.get("id"), raw.get("type")
    if not isinstance(component_id, str) or not component_id:
        out.error(path, "this component needs an id: (jobs name it with component: <id>)")
        return None
    if not isinstance(component_type, str) or component_type not in COMPONENT_TYPES:
        types = ", ".join(COMPONENT_TYPES)
        if component_type is None:
            out.error(path, f"component {component_id} needs a type: {types}")
        else:
            out.error(
                join(path, "type"),
                f"compose-web runs components of type {types}, "
                f"not {component_type!r}{did_you_mean(component_type, COMPONENT_TYPES, quote=False)}",
            )
        return None
    norm = normalize_component(raw)
    result.components.append(ComponentLayout(path, norm))
    for rel, message in norm.problems:
        out.error(join(path, *rel), message)
    for name, message, severity in check_component(component_type, norm.fields):
        origin = norm.origins.get(name)
        where = join(path, *origin.path) if origin else path
        if origin and origin.exact and origin.path[-1] != name and message.startswith(name):
            message = str(origin.path[-1]) + message[len(name) :]  # say "rank", as written
        inside = _ITEM_PROBLEM.match(message)
        if inside and isinstance(norm.fields.get(name), list):
            # A problem inside one item of a list of mappings (peft_adapters[1].weight): point at it.
            segments = [int(part) if part.isdigit() else part for part in inside.group(1).split(".")]
            where, message = join(where, *segments), inside.group(2)
        (out.error if severity == "error" else out.warning)(where, message)
    for action_id, fields in norm.actions.items():
        _, problems = check_fields(component_type, fields)
        for name, message, _severity in problems:
            origin = norm.action_origins[action_id].get(name)
            base = join(path, "actions", norm.action_index[action_id])
            out.error(join(base, *origin.path[2:]) if origin else base, message)
    return ComponentDoc(
        id=component_id,
        type=component_type,
        fields=norm.fields,
        actions=norm.actions,
        default_action=norm.default_action,
    )


def _workflow(
    raw: Any, path: str, singular: bool, doc: ComposeFile, result: ParseResult, out: _Collector
) -> Workflow | None:
    if not isinstance(raw, dict):
        out.error(path, "a workflow must be a mapping with id: and jobs:")
        return None
    if raw.get("id") is None and singular:
        raw = {"id": DEFAULT_ID, **raw}
    for key in raw:
        if key not in WORKFLOW_KEYS:
            out.error(join(path, key), f"unknown workflow field {key}{did_you_mean(key, WORKFLOW_KEYS, quote=False)}")
    workflow_id = raw.get("id")
    if not isinstance(workflow_id, str) or not workflow_id:
        out.error(path, "this workflow needs an id:")
        return None
    raw_jobs = raw.get("jobs")
    if not isinstance(raw_jobs, list) or not raw_jobs:
        out.error(
            join(path, "jobs") if "jobs" in raw else path,
            f"workflow {workflow_id} needs jobs: a list of jobs, each with id: and component:",
        )
        raw_jobs = []
    jobs: list[Job] = []
    for index, raw_job in enumerate(raw_jobs):
        job = _job(raw_job, join(path, "jobs", index), workflow_id, doc, result, out)
        if job is not None:
            jobs.append(job)
    values = {k: v for k, v in raw.items() if k in WORKFLOW_KEYS and k != "jobs"}
    try:
        return Workflow(jobs=jobs, **values)
    except ValidationError as exc:
        _pydantic_problems(exc, path, out)
        return None


def _job(raw: Any, path: str, workflow_id: str, doc: ComposeFile, result: ParseResult, out: _Collector) -> Job | None:
    if not isinstance(raw, dict):
        out.error(path, "a job must be a mapping with id: and component:")
        return None
    norm = normalize_job(raw)
    for rel, message in norm.problems:
        out.error(join(path, *rel), message)
    values = {k: v for k, v in norm.values.items() if k in JOB_KEYS}
    for required in ("id", "component"):
        if required not in values:
            out.error(path, f"this job needs {required}:")
    try:
        job = Job(**values)
    except ValidationError as exc:
        _pydantic_problems(exc, path, out, rename={"method": norm.method_key})
        return None
    result.jobs[(workflow_id, job.id)] = JobLayout(path, norm.method_key)
    component = doc.component(job.component)
    if component is not None:
        _job_against_component(job, component, path, norm.method_key, out)
    return job


def _job_against_component(job: Job, component: ComponentDoc, path: str, method_key: str, out: _Collector) -> None:
    # Method names are the graph checks' business; which action runs when none is named is ours.
    if (
        component.type == "datasets"
        and component.actions
        and job.method is None
        and component.default_action is None
        and len(component.actions) > 1
    ):
        out.error(
            path,
            f"component {component.id} has several actions ({', '.join(component.actions)}): choose one with action:",
        )
    model = COMPONENT_TYPES[component.type]
    # An input key that names a component field overrides it: check literal values now.
    for key, value in job.input.items():
        if key in model.model_fields and key not in ("id", "type") and not contains_binding(value):
            if model is DatasetsComponent and key == "method":
                continue
            _, message = check_field(model, key, value)
            if message:
                out.error(join(path, "input", key), message)


def _pydantic_problems(exc: ValidationError, path: str, out: _Collector, rename: dict[str, str] | None = None) -> None:
    rename = rename or {}
    for error in exc.errors():
        loc = [rename.get(str(part), part) if i == 0 else part for i, part in enumerate(error["loc"])]
        if error["type"] == "missing":
            continue  # reported in words where the required keys are checked
        where = join(path, *loc)
        out.error(where, f"{plain_message(error['msg'])} (got {error.get('input')!r})")


# --- job graph ----------------------------------------------------------------------------


def _graph_problems(result: ParseResult, source: str) -> list[Problem]:
    """Problems of the job graph (cycles, unknown jobs, missing depends_on ...)."""
    assert result.file is not None
    problems = workflow_problems(result.file)
    for problem in problems:
        problem.source = problem.source or source
        problem.path = written_path(result, problem.path)
    return problems


def written_path(result: ParseResult, path: str) -> str:
    """A path into the document model -> the path where the text wrote it.

    ``workflows[0].jobs[2].input`` stays as is unless the file used the singular
    ``workflow:`` or a job before it could not be read; a component field written in
    the nested form maps to its nested key (``components[0].lora.rank``).
    """
    doc = result.file
    try:
        segments = split(path)
    except ValueError:
        return path
    if doc is None or len(segments) < 2 or not isinstance(segments[1], int):
        return path
    head, index, rest = segments[0], segments[1], segments[2:]
    if head == "workflows" and index < len(doc.workflows):
        workflow = doc.workflows[index]
        base = result.workflow_paths.get(workflow.id, path)
        if len(rest) >= 2 and rest[0] == "jobs" and isinstance(rest[1], int) and rest[1] < len(workflow.jobs):
            layout = result.jobs.get((workflow.id, workflow.jobs[rest[1]].id))
            if layout is not None:
                tail = rest[2:]
                if tail and tail[0] == "method":
                    tail = [layout.method_key, *tail[1:]]
                return join(layout.path, *tail)
        return join(base, *rest)
    if head == "components" and index < len(doc.components) and index < len(result.components):
        component_layout = result.components[index]
        norm = component_layout.normalized
        if len(rest) >= 2 and rest[0] == "actions" and rest[1] in norm.action_index:
            action_id = rest[1]
            base = join(component_layout.path, "actions", norm.action_index[action_id])
            tail = rest[2:]
            if tail and isinstance(tail[0], str) and tail[0] in norm.action_origins[action_id]:
                return join(component_layout.path, *norm.action_origins[action_id][tail[0]].path, *tail[1:])
            return join(base, *tail)
        if rest and isinstance(rest[0], str) and rest[0] in norm.origins:
            return join(component_layout.path, *norm.origins[rest[0]].path, *rest[1:])
        return join(component_layout.path, *rest)
    return path


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str, str]] = set()
    out: list[Problem] = []
    for problem in problems:
        key = (problem.path, problem.message, problem.severity)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out
