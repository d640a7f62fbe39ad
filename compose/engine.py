"""Run a workflow: walk the job graph, resolve each job's bindings, hand JobSpecs to an executor.

The CLI runs it directly; the web worker calls :func:`run_workflow` too (or
:func:`build_job_spec` for one job). Jobs whose dependencies are done start at once,
each in its own thread, so independent jobs run at the same time. A failing job
fails the run and cancels its running siblings; finished jobs keep their outputs.

Paths: every field the schema marks as a path (``path_fields``) is made absolute against
``base_dir`` here, once, through :func:`compose.confine.confine`, and may not leave it
(``../`` out of it, or a symlink out of it, is an error). A ``read-or-hub`` value is local
when it looks like a path (``./x``, ``/x``) or exists under ``base_dir``, else a hub id; a
``read-or-inline`` value holding Jinja is the text itself. Absolute paths outside
``base_dir`` are refused unless ``allow_absolute_paths`` (the CLI allows them: the user
owns the machine; a web workspace does not, and its jobs get ``roots`` so the runner
checks every file it opens the same way).
"""

from __future__ import annotations

import functools
import graphlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from compose import events
from compose.bindings import BindingContext, BindingError, find_bindings, resolve
from compose.confine import PathOutside, confine
from compose.errors import ComposeError, Problem
from compose.graph import component_field_names, dependencies, terminal_jobs, workflow_problems
from compose.inputs import (
    coerce_inputs,
    component_read_types,
    component_values,
    field_type,
    find_workflow,
    input_problems,
    workflow_inputs,
)
from compose.jobspec import DATA_FILES_GLOB, JobCancelled, JobExecutor, JobFailed, JobSpec
from compose.schema.components import (
    COMPONENT_TYPES,
    DATASET_LOADERS,
    PathKind,
    evaluated_fields,
    is_inline_text,
    job_model,
    nested_path_fields,
    path_fields,
)
from compose.schema.workflow import ComposeFile, Job, Workflow

EventSink = Callable[[events.Event], None]

# Which fields name files or folders is the schema's fact (``_path(...)`` on each field).
PATH_FIELDS: dict[str, dict[str, PathKind]] = {ctype: path_fields(model) for ctype, model in COMPONENT_TYPES.items()}
# Paths inside a field's object or list form (``peft_adapters[].model``, ``model.path``).
NESTED_PATH_FIELDS: dict[str, dict[str, PathKind]] = {
    ctype: nested_path_fields(model) for ctype, model in COMPONENT_TYPES.items()
}
EVALUATED_FIELDS: dict[str, tuple[str, ...]] = {
    ctype: evaluated_fields(model) for ctype, model in COMPONENT_TYPES.items()
}
_POLL_S = 0.2


@dataclass(frozen=True)
class ResumePlan:
    """How a run continues an earlier attempt or run of the same workflow.

    ``done``: outputs of jobs that finished before (they are not run again);
    ``lineage``: per trainer job, the output folders of the earlier attempts' runs, newest
    first, where ``resume_from_checkpoint: latest`` looks after the job's own folder.
    Every trainer without ``resume_from_checkpoint`` resumes from ``latest``.
    """

    done: Mapping[str, Any] = field(default_factory=dict)
    lineage: Mapping[str, Sequence[str]] = field(default_factory=dict)


class WorkflowFailed(Exception):
    """A job failed; ``outputs`` holds what the finished jobs produced."""

    def __init__(self, job_id: str, message: str, outputs: dict[str, Any] | None = None):
        super().__init__(f"job `{job_id}` failed: {message}" if job_id else message)
        self.job_id = job_id
        self.message = message
        self.outputs = dict(outputs or {})


class WorkflowCancelled(Exception):
    """The run was cancelled; ``outputs`` holds what the finished jobs produced."""

    def __init__(self, outputs: dict[str, Any] | None = None):
        super().__init__("the run was cancelled")
        self.outputs = dict(outputs or {})


class JobConfigError(ValueError):
    """A job's configuration cannot be built (a binding, a field value, a path)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# --- before anything runs ----------------------------------------------------------------


def preflight(
    doc: ComposeFile, workflow_id: str | None, inputs: Mapping[str, Any], *, default_models: Mapping[str, str] = {}
) -> list[Problem]:
    """Why the run cannot start: graph errors, bad or missing inputs, a trainer with no model."""
    try:
        workflow = find_workflow(doc, workflow_id)
    except ComposeError as exc:
        return exc.problems
    w_index = doc.workflows.index(workflow)
    used = {job.component for job in workflow.jobs}
    used_paths = tuple(f"components[{i}]" for i, c in enumerate(doc.components) if c.id in used)
    problems = [
        p
        for p in workflow_problems(doc)
        if p.is_error and (p.path.startswith(f"workflows[{w_index}]") or p.path.startswith(used_paths))
    ]
    problems += input_problems(workflow_inputs(doc, workflow.id), inputs)
    problems += _model_problems(doc, workflow, inputs, default_models)
    return problems


def _model_problems(
    doc: ComposeFile, workflow: Workflow, inputs: Mapping[str, Any], default_models: Mapping[str, str]
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for job in workflow.jobs:
        component = doc.component(job.component)
        if component is None or component.type != "model-trainer" or component.id in seen:
            continue
        if job.input.get("model") or component.fields.get("model"):
            continue
        task = job.input.get("task", component.fields.get("task"))
        try:
            task = resolve(task, BindingContext(inputs=inputs), field_type="text")
        except BindingError:
            continue  # reported as a missing input
        if task and default_models.get(str(task)):
            continue
        seen.add(component.id)
        index = doc.components.index(component)
        problems.append(
            Problem(
                f"components[{index}].model",
                f"no base model for `{component.id}`: set `model:` (a hub id or a local folder) or a "
                f"default base model for task `{task}`",
            )
        )
    return problems


# --- one job -----------------------------------------------------------------------------


def build_job_spec(
    doc: ComposeFile,
    workflow: Workflow,
    job: Job,
    *,
    inputs: Mapping[str, Any],
    job_outputs: Mapping[str, Any],
    env: Mapping[str, str],
    run_id: str,
    base_dir: str | Path,
    storage_dir: str | Path,
    default_models: Mapping[str, str] = {},
    secrets: Iterable[str] = (),
    allow_absolute_paths: bool = False,
    write_dir: str | Path | None = None,
    resume: ResumePlan | None = None,
    overwrite_output: bool = False,
    notes: list[str] | None = None,
) -> JobSpec:
    """The JobSpec of ``job``: bindings resolved, job input merged, defaults applied.

    ``inputs`` are the workflow's typed inputs, ``job_outputs`` the outputs of finished
    jobs. ``${env.*}`` is read from ``env`` here; every value read that way is a secret
    of the spec. Lenient resolutions (an unset variable read as empty) are appended to
    ``notes``. Raises :class:`JobConfigError` naming the field.

    ``write_dir`` (inside ``base_dir``; the web gives each run one) is where relative
    paths a job writes resolve; a relative path it reads resolves there when an earlier
    job of the run wrote it, else in ``base_dir``. ``resume`` continues trainers from the
    newest checkpoint of their lineage. ``overwrite_output`` lets a trainer start afresh in
    an ``output_dir`` that holds another run's checkpoints (else it refuses to).
    """
    component = doc.component(job.component)
    w_index = doc.workflows.index(workflow) if workflow in doc.workflows else 0
    j_index = workflow.jobs.index(job) if job in workflow.jobs else 0
    job_path = f"workflows[{w_index}].jobs[{j_index}]"
    if component is None:
        raise JobConfigError(f"{job_path}.component", f"no component `{job.component}`")
    c_path = f"components[{doc.components.index(component)}]"
    ctype = component.type
    model = COMPONENT_TYPES.get(ctype)
    if model is None:
        raise JobConfigError(f"{c_path}.type", f"component type `{ctype}` cannot be run")

    context = BindingContext(inputs=inputs, jobs=job_outputs, env=env)
    reads = component_read_types(component, job)
    job_input: dict[str, Any] = {}
    for key, value in job.input.items():
        kind = field_type(ctype, key) or reads.get(key, (None, None))[0]
        job_input[key] = _resolve_at(value, context, kind, f"{job_path}.input.{key}")

    values, method = component_values(component, job)
    inner = BindingContext(
        inputs={**inputs, **job_input}, jobs=job_outputs, env=env, env_used=context.env_used, notes=context.notes
    )
    fields = component_field_names(component)
    config: dict[str, Any] = {}
    for name, value in values.items():
        if name in job_input and name in fields:
            continue  # overridden by the job's input: never resolved
        config[name] = _resolve_at(value, inner, field_type(ctype, name), f"{c_path}.{name}")
    config.update({k: v for k, v in job_input.items() if k in fields})
    config["id"], config["type"] = component.id, ctype
    if ctype == "datasets":
        config["method"] = method
    else:
        config.pop("method", None)
        method = "train" if ctype == "model-trainer" else "run"

    runs = job_model(ctype, method) or model
    if ctype == "datasets":
        # Another operation's fields, given to a job that picks this one, have no effect
        # (the document's checks warn of them): the operation's model takes only its own.
        config = {k: v for k, v in config.items() if k in runs.model_fields}
    try:
        validated = runs.model_validate(config)
    except ValidationError as exc:
        raise JobConfigError(f"{job_path}", _validation_message(component.id, exc)) from None
    resolved = validated.model_dump(mode="json", by_alias=True)

    env_fields = _env_fields(job, values, fields)
    for name in EVALUATED_FIELDS.get(ctype, ()):
        if name in env_fields:
            raise JobConfigError(
                f"{c_path}.{name}",
                f"`{component.id}`'s {name} reads ${{env.*}}: "
                "values from the environment (secrets) cannot be used in expressions "
                "or templates, whose results are stored and shown",
            )
    skip: tuple[str, ...] = ()
    extra_roots: list[str] = []
    if ctype == "model-trainer" and not resolved.get("model"):
        default = default_models.get(resolved["task"])
        if not default:
            raise JobConfigError(
                f"{c_path}.model",
                f"no base model for `{component.id}`: set "
                f"`model:` or a default base model for task `{resolved['task']}`",
            )
        resolved["model"] = default  # set by whoever runs compose-web, not confined
        skip = ("model",)
        if Path(default).expanduser().is_absolute():
            extra_roots.append(str(Path(default).expanduser()))  # the job may read that folder
    _resolve_paths(
        resolved,
        ctype,
        Path(base_dir),
        allow_absolute_paths,
        c_path,
        skip=skip,
        secret_fields=env_fields,
        write_dir=Path(write_dir) if write_dir else None,
    )
    resume_dirs: list[str] = []
    if ctype == "model-trainer" and resume is not None:
        if resolved.get("resume_from_checkpoint") is None:
            resolved["resume_from_checkpoint"] = "latest"
        resume_dirs = list(resume.lineage.get(job.id, ()))

    if notes is not None:
        notes.extend(context.notes)
    secret_values = [s for s in (*secrets, *context.env_used.values()) if s]
    roots = [] if allow_absolute_paths else [str(Path(base_dir).resolve()), *extra_roots]
    return JobSpec(
        run_id=run_id,
        job_id=job.id,
        component_id=component.id,
        component_type=ctype,
        method=method,
        config=resolved,
        base_dir=str(Path(base_dir).resolve()),
        storage_dir=str(Path(storage_dir).resolve()),
        secrets=list(dict.fromkeys(secret_values)),
        env=dict(context.env_used),
        env_fields=env_fields,
        roots=roots,
        resume_dirs=resume_dirs,
        overwrite_output=overwrite_output,
    )


def _env_fields(job: Job, values: Mapping[str, Any], fields: Iterable[str]) -> list[str]:
    """Config fields whose value comes from ``${env.*}``, directly or through a job input
    that reads it: shown masked as a whole, since a value can change shape on the way
    (``as json``, a number, a path made absolute) and no longer match as text."""

    def reads_env(value: Any, env_inputs: frozenset[str] = frozenset()) -> bool:
        try:
            found = find_bindings(value)
        except BindingError:
            return False
        return any(b.source == "env" or (b.source == "input" and b.path and b.path[0] in env_inputs) for b in found)

    fields = set(fields)
    env_inputs = frozenset(key for key, value in job.input.items() if reads_env(value))
    overridden = {key for key in job.input if key in fields}  # the job's input replaces these
    names = {name for name, value in values.items() if name not in overridden and reads_env(value, env_inputs)}
    return sorted(names | (env_inputs & fields))


def _resolve_at(value: Any, context: BindingContext, kind: str | None, path: str) -> Any:
    try:
        return resolve(value, context, field_type=kind)
    except BindingError as exc:
        raise JobConfigError(path, str(exc)) from None


def _validation_message(component_id: str, exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return f"component `{component_id}`: " + "; ".join(parts)


def _resolve_paths(
    config: dict[str, Any],
    ctype: str,
    base_dir: Path,
    allow_absolute: bool,
    c_path: str,
    skip: tuple[str, ...] = (),
    secret_fields: Iterable[str] = (),
    write_dir: Path | None = None,
) -> None:
    """Make local paths absolute (confined to ``base_dir``); a path the job reads must exist.

    The check runs as the job is about to start (earlier jobs are done), so a typo fails
    here, named by its field and as it was written, not later inside the job process.
    """
    base = base_dir.resolve()
    written = write_dir.resolve() if write_dir is not None else base
    owner = config.get("id", "")
    hidden = set(secret_fields)

    def local(value: str, name: str, must_exist: bool) -> str:
        where = f"{c_path}.{name}"
        relative_to = written if not must_exist or (written / value).exists() else base
        try:
            target = str(
                confine(value, relative_to, roots=() if allow_absolute else (base,), allow_absolute=allow_absolute)
            )
        except PathOutside as exc:
            if name in hidden:  # read from the environment: the value may be a secret
                raise JobConfigError(
                    where, f"`{owner}` reads a path from the environment that is outside the workspace"
                ) from None
            raise JobConfigError(where, str(exc)) from None
        if must_exist and "://" not in value and not DATA_FILES_GLOB.search(value) and not Path(target).exists():
            if name in hidden:
                raise JobConfigError(where, f"`{owner}` reads a path from the environment that does not exist")
            looked = "" if value == target else f" (looked for {target})"
            raise JobConfigError(where, f"`{owner}` reads {value}, which does not exist{looked}")
        return target

    def resolved(value: Any, name: str, kind: PathKind, field_name: str) -> Any:
        if kind == "read-or-hub":
            if (
                not isinstance(value, str)
                or value in DATASET_LOADERS
                or not (_looks_local(value, base) or _looks_local(value, written))
            ):
                return value  # a hub id; the nested dialect's `path: json` names a loader
        elif kind == "read-or-inline":
            if not isinstance(value, str) or is_inline_text(value):
                return value
        elif field_name == "resume_from_checkpoint" and str(value).lower() in ("latest", "true"):
            return value
        must_exist = kind != "write"
        if name != field_name and field_name in hidden:
            hidden.add(name)
        return _map_paths(value, lambda p: local(p, name, must_exist))

    for name, kind in PATH_FIELDS.get(ctype, {}).items():
        value = config.get(name)
        if value is None or name in skip:
            continue
        config[name] = resolved(value, name, kind, name)
    for dotted, kind in NESTED_PATH_FIELDS.get(ctype, {}).items():
        head = dotted.split(".", 1)[0].removesuffix("[]")
        if head in skip:
            continue
        _map_nested(config, dotted.split("."), "", functools.partial(_resolve_nested, resolved, kind=kind, head=head))


def _resolve_nested(
    resolved: Callable[[Any, str, PathKind, str], Any], value: Any, where: str, *, kind: PathKind, head: str
) -> Any:
    return resolved(value, where, kind, head)


def _map_nested(container: Any, segments: list[str], where: str, fn: Callable[[Any, str], Any]) -> None:
    """Apply ``fn`` to the value at ``segments`` (``name[]`` walks each item of a list) in place;
    ``where`` grows into the written path (``peft_adapters[1].model.path``)."""
    if not isinstance(container, dict):
        return
    segment, rest = segments[0], segments[1:]
    name = segment.removesuffix("[]")
    value = container.get(name)
    if value is None:
        return
    path = f"{where}.{name}" if where else name
    if segment.endswith("[]"):
        if not isinstance(value, list):
            return
        for index, item in enumerate(value):
            if rest:
                _map_nested(item, rest, f"{path}[{index}]", fn)
        return
    if rest:
        _map_nested(value, rest, path, fn)
    else:
        container[name] = fn(value, path)


def _map_paths(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_paths(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_paths(v, fn) for k, v in value.items()}
    return value


def _looks_local(value: str, base: Path) -> bool:
    """A local folder rather than a hub id (``org/name``)."""
    if value.startswith(("./", "../", "/", "~", ".\\")) or ".." in Path(value).parts:
        return True  # a hub id (org/name) never climbs
    return (base / value).exists()


# --- the whole workflow ---------------------------------------------------------------------


def run_workflow(
    doc: ComposeFile,
    workflow_id: str | None,
    inputs: Mapping[str, Any],
    *,
    executor: JobExecutor,
    base_dir: str | Path,
    storage_dir: str | Path,
    env: Mapping[str, str],
    run_id: str,
    on_event: EventSink,
    cancel: threading.Event,
    default_models: Mapping[str, str] = {},
    secrets: Iterable[str] = (),
    allow_absolute_paths: bool = False,
    max_parallel: int | None = None,
    write_dir: str | Path | None = None,
    resume: ResumePlan | None = None,
    overwrite_output: bool = False,
) -> Any:
    """Run the workflow's jobs through ``executor``; return the workflow's output.

    Raises :class:`ComposeError` (nothing ran: see :func:`preflight`),
    :class:`WorkflowFailed` or :class:`WorkflowCancelled`. ``on_event`` receives every
    job's events, one at a time even when jobs run in parallel. ``write_dir`` and
    ``resume``: see :func:`build_job_spec`; the jobs ``resume.done`` names are not run
    again, their recorded outputs stand.
    """
    problems = preflight(doc, workflow_id, inputs, default_models=default_models)
    if problems:
        raise ComposeError(problems)
    workflow = find_workflow(doc, workflow_id)
    values = coerce_inputs(workflow_inputs(doc, workflow.id), inputs)
    run = _Run(
        doc,
        workflow,
        values,
        executor=executor,
        env=env,
        on_event=on_event,
        cancel=cancel,
        spec_args=dict(
            run_id=run_id,
            base_dir=base_dir,
            storage_dir=storage_dir,
            default_models=default_models,
            secrets=tuple(secrets),
            allow_absolute_paths=allow_absolute_paths,
            write_dir=write_dir,
            resume=resume,
            overwrite_output=overwrite_output,
        ),
    )
    outputs = run.walk(max_parallel)
    if workflow.output is not None:
        try:
            return resolve(workflow.output, BindingContext(inputs=values, jobs=outputs))
        except BindingError as exc:
            raise WorkflowFailed("", f"workflow output: {exc}", outputs) from None
    ends = terminal_jobs(workflow)
    if len(ends) == 1:
        return outputs.get(ends[0])
    return {job_id: outputs.get(job_id) for job_id in ends}


class _Run:
    """The state of one walk over the graph (kept off the caller's stack for clarity)."""

    def __init__(
        self,
        doc: ComposeFile,
        workflow: Workflow,
        inputs: dict[str, Any],
        *,
        executor: JobExecutor,
        env: Mapping[str, str],
        on_event: EventSink,
        cancel: threading.Event,
        spec_args: dict[str, Any],
    ):
        self.doc, self.workflow, self.inputs = doc, workflow, inputs
        self.executor, self.env, self.cancel = executor, env, cancel
        self.spec_args = spec_args
        resume = spec_args.get("resume")
        self.done_before: Mapping[str, Any] = resume.done if resume is not None else {}
        self.jobs = {job.id: job for job in reversed(workflow.jobs)}
        self.position = {job.id: i for i, job in reversed(list(enumerate(workflow.jobs)))}
        self.stop = threading.Event()  # tells running executors to stop
        self.outputs: dict[str, Any] = {}
        self.failure: tuple[str, str] | None = None
        self.cancelled = False
        self.started: set[str] = set()
        lock = threading.Lock()

        def emit(event: events.Event) -> None:
            with lock:
                on_event(event)

        self.emit = emit

    def walk(self, max_parallel: int | None) -> dict[str, Any]:
        sorter = graphlib.TopologicalSorter(dependencies(self.workflow))
        sorter.prepare()
        running: dict[Future[Any], str] = {}
        workers = max_parallel or max(1, len(self.jobs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compose-job") as pool:
            while True:
                if self.cancel.is_set():
                    self.cancelled = True
                    self.stop.set()
                reused = False
                if not self.stop.is_set():
                    for job_id in sorted(sorter.get_ready(), key=self.position.__getitem__):
                        if job_id in self.done_before:
                            self._reuse(job_id)
                            sorter.done(job_id)
                            reused = True
                            continue
                        spec = self._spec(job_id)
                        if spec is None:
                            break
                        self.started.add(job_id)
                        self.emit(events.config(job_id, spec.shown_config()))
                        future = pool.submit(self.executor.execute, spec, self.emit, self.stop)
                        running[future] = job_id
                if reused:
                    continue  # the jobs after a reused one may be ready now
                if not running:
                    break
                done, _ = wait(running, timeout=_POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    job_id = running.pop(future)
                    if self._finish(job_id, future):
                        sorter.done(job_id)
        for job in self.workflow.jobs:
            if job.id not in self.started and job.id not in self.outputs:
                why = "the run was cancelled" if self.failure is None else f"job `{self.failure[0]}` failed"
                self.emit(events.status(job.id, "skipped", f"not started: {why}"))
        if self.failure is not None:
            raise WorkflowFailed(self.failure[0], self.failure[1], self.outputs)
        if self.cancelled:
            raise WorkflowCancelled(self.outputs)
        return self.outputs

    def _reuse(self, job_id: str) -> None:
        self.outputs[job_id] = self.done_before[job_id]
        self.emit(events.log(job_id, f"job `{job_id}` finished before; its output is used again"))

    def _spec(self, job_id: str) -> JobSpec | None:
        notes: list[str] = []
        try:
            spec = build_job_spec(
                self.doc,
                self.workflow,
                self.jobs[job_id],
                inputs=self.inputs,
                job_outputs=self.outputs,
                env=self.env,
                notes=notes,
                **self.spec_args,
            )
        except JobConfigError as exc:
            self.started.add(job_id)
            self.emit(events.status(job_id, "failed", str(exc)))
            self._fail(job_id, str(exc))
            return None
        for note in notes:
            self.emit(events.log(job_id, note, "warning"))
        return spec

    def _finish(self, job_id: str, future: Future[Any]) -> bool:
        """Record a finished job; True when it succeeded."""
        try:
            result = future.result()
        except JobCancelled:
            if self.failure is None:
                self.cancelled = True
                self.stop.set()
            return False
        except JobFailed as exc:
            self._fail(job_id, exc.message)
            return False
        except Exception as exc:  # an executor bug still ends the run cleanly
            self._fail(job_id, f"{type(exc).__name__}: {exc}")
            return False
        job = self.jobs[job_id]
        try:
            # env stays out: a job's output is shown and stored, secrets must not reach it.
            self.outputs[job_id] = resolve(
                job.output, BindingContext(inputs=self.inputs, jobs=self.outputs, output=result)
            )
        except BindingError as exc:
            self._fail(job_id, f"output: {exc}")
            return False
        return True

    def _fail(self, job_id: str, message: str) -> None:
        if self.failure is None and not self.cancelled:
            self.failure = (job_id, message)
        self.stop.set()
