"""State changes a user asks for: queue a run, rerun it, cancel it.

Each writes the row with a conditional UPDATE (so a cancel racing a worker's claim
has one winner), records what happened as a run event, and wakes the run's open
pages after commit. The worker's side is in ``training.actions.worker``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compose import events as ev
from compose.engine import preflight
from compose.errors import ComposeError, Problem
from compose.inputs import coerce_inputs, workflow_inputs
from compose.loader import load_compose
from compose.need import Need, run_need
from compose.sweep import SweepError, grid, sweep_values
from training import notify, run_queue
from training.actions.errors import InvalidTransition, RunRefused
from training.actions.events import record_event
from training.actions.placement import check_placeable
from training.models import ComposeDocument, Run, RunStatus, Sweep, Workspace


def validate_run(
    workspace: Workspace, yaml_text: str, workflow_id: str | None, inputs: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Check a run before it is queued; return the workflow id and the coerced inputs.

    Raises :class:`RunRefused` listing every problem: the file, the inputs, and what the
    engine's preflight finds (a trainer without a base model, remote code not allowed).
    """
    try:
        doc = load_compose(yaml_text)
    except ComposeError as exc:
        raise RunRefused(exc.errors or exc.problems) from exc
    workflow = doc.workflow(workflow_id or None)
    if workflow is None:
        known = ", ".join(w.id for w in doc.workflows) or "none"
        wanted = f"workflow {workflow_id!r}" if workflow_id else "a workflow (there are several and none is default)"
        raise RunRefused([Problem("workflows", f"no {wanted}; this file has: {known}")])
    problems: list[Problem] = list(preflight(doc, workflow.id, inputs, default_models=workspace.default_models()))
    if not workspace.allow_remote_code:
        for index, component in enumerate(doc.components):
            if component.fields.get("trust_remote_code") is True:
                problems.append(
                    Problem(
                        f"components[{index}].trust_remote_code",
                        "this workspace does not allow remote code; an admin can enable it",
                    )
                )
    errors = [p for p in problems if p.is_error]
    if errors:
        raise RunRefused(errors)
    try:
        values = coerce_inputs(workflow_inputs(doc, workflow.id), inputs)
    except ComposeError as exc:
        raise RunRefused(exc.errors or exc.problems) from exc
    return workflow.id, values


def enqueue_run(document: ComposeDocument, workflow_id: str | None, inputs: dict[str, Any], user) -> Run:
    """Validate, store a queued run with a snapshot of the file, start it after commit."""
    workflow, values = validate_run(document.workspace, document.yaml_text, workflow_id, inputs)
    return _create_run(document.workspace, document, workflow, document.yaml_text, values, user)


def enqueue_sweep(
    document: ComposeDocument, workflow_id: str | None, inputs: dict[str, Any], swept: dict[str, Any], user
) -> Sweep:
    """Queue a run for every combination of the swept inputs' values, or none of them.

    ``inputs`` are the single values of the other inputs (as :func:`enqueue_run` takes
    them); ``swept`` maps an input to its values, as text (``"1e-4, 5e-5"``, a JSON list)
    or a list. Each value is checked as a single one is, the grid is capped at
    ``COMPOSE_SWEEP_MAX_RUNS``, and every run passes :func:`validate_run` and placement
    before any is stored: a refusal of one refuses the sweep (:class:`RunRefused`).
    """
    workspace, yaml_text = document.workspace, document.yaml_text
    try:
        doc = load_compose(yaml_text)
        specs = workflow_inputs(doc, workflow_id or None)
    except ComposeError:
        validate_run(workspace, yaml_text, workflow_id, inputs)  # raises, naming every problem
        raise
    base = {name: value for name, value in inputs.items() if name not in swept}
    try:
        lists = sweep_values(specs, base, swept, settings.COMPOSE_SWEEP_MAX_RUNS)
    except SweepError as exc:
        raise RunRefused(exc.problems) from exc
    checked: list[tuple[str, dict[str, Any]]] = []
    problems: list[Problem] = []
    for combo in grid(lists):
        try:
            checked.append(validate_run(workspace, yaml_text, workflow_id, {**base, **combo}))
        except RunRefused as exc:
            problems += [p for p in exc.problems if p not in problems]
    if problems:
        raise RunRefused(problems)
    workflow = checked[0][0]
    typed = {name: [values[name] for _, values in checked] for name in lists}
    with transaction.atomic():  # a run refused by placement takes the others back with it
        sweep = Sweep.objects.create(
            workspace=workspace,
            document=document,
            workflow_id=workflow,
            values={name: _distinct(values) for name, values in typed.items()},
            created_by=user,
        )
        for workflow, values in checked:
            _create_run(workspace, document, workflow, yaml_text, values, user, sweep=sweep)
    return sweep


def _distinct(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def rerun(run: Run, user) -> Run:
    """A new run of the same snapshot, workflow and inputs (validated again)."""
    workflow, values = validate_run(run.workspace, run.yaml_snapshot, run.workflow_id, run.inputs)
    return _create_run(run.workspace, run.document, workflow, run.yaml_snapshot, values, user, rerun_of=run)


RESUMABLE = frozenset({RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.INTERRUPTED})


def resume(run: Run, user) -> Run:
    """A new run that continues ``run``: its finished jobs' outputs stand, and its trainers
    go on from the newest checkpoint the parent (or the parent's own parents) saved."""
    if run.status not in RESUMABLE:
        raise InvalidTransition(run.pk, run.status, "resumed")
    child = run.resumed_as.order_by("-pk").first()
    if child is not None:  # a second branch from the same checkpoint is almost never meant
        raise RunRefused(
            [
                Problem(
                    "",
                    f"run {run.pk} was already resumed as run {child.pk}; "
                    f"resume that one, or use Rerun for a fresh start",
                )
            ]
        )
    workflow, values = validate_run(run.workspace, run.yaml_snapshot, run.workflow_id, run.inputs)
    return _create_run(run.workspace, run.document, workflow, run.yaml_snapshot, values, user, resumed_from=run)


def rerun_with_document(run: Run, user) -> Run:
    """A new run of the run's workflow and inputs on the document as it is now."""
    document = run.document
    if document is None:
        raise RunRefused([Problem("document", "the run's document was deleted")])
    workflow, values = validate_run(document.workspace, document.yaml_text, run.workflow_id, run.inputs)
    return _create_run(document.workspace, document, workflow, document.yaml_text, values, user, rerun_of=run)


def _create_run(
    workspace: Workspace,
    document: ComposeDocument | None,
    workflow_id: str,
    yaml_text: str,
    inputs: dict[str, Any],
    user,
    rerun_of: Run | None = None,
    resumed_from: Run | None = None,
    sweep: Sweep | None = None,
) -> Run:
    need = need_of(yaml_text, workflow_id)
    check_placeable(need, workspace)  # refused now, with the reason, when no worker could ever hold it
    with transaction.atomic():
        run = Run.objects.create(
            workspace=workspace,
            document=document,
            workflow_id=workflow_id,
            yaml_snapshot=yaml_text,
            inputs=inputs,
            created_by=user,
            rerun_of=rerun_of,
            resumed_from=resumed_from,
            sweep=sweep,
            need_gpus=need.gpus,
            need_labels=list(need.labels),
            need_gpu_memory_gb=need.gpu_memory_gb,
        )
        who = getattr(user, "username", None) or "someone"
        note = (
            f" (rerun of run {rerun_of.pk})"
            if rerun_of
            else f" (resumes run {resumed_from.pk} from its last checkpoint)"
            if resumed_from
            else f" (sweep {sweep.pk})"
            if sweep
            else ""
        )
        record_event(run, ev.log("", f"Queued by {who}{note}"))
        run_id = run.pk
        transaction.on_commit(lambda: run_queue.schedule_run(run_id))
    return run


def need_of(yaml_text: str, workflow_id: str):
    """What a run of this workflow needs (GPUs, labels), from its jobs."""
    try:
        doc = load_compose(yaml_text)
    except ComposeError:
        return Need()
    return run_need(doc, workflow_id)


def request_cancel(run: Run, user) -> Run:
    """Cancel a queued run at once; ask a running one to stop (the worker finishes it)."""
    who = getattr(user, "username", None) or "someone"
    with transaction.atomic():
        now = timezone.now()
        if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.CANCELLED, cancel_requested=True, finished=now
        ):
            record_event(run, ev.log("", f"Cancelled by {who} before it started"))
        elif Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, cancel_requested=False).update(
            cancel_requested=True
        ):
            record_event(run, ev.log("", f"Cancel requested by {who}; stopping the running jobs"))
        elif not Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).exists():
            current = Run.objects.values_list("status", flat=True).get(pk=run.pk)
            raise InvalidTransition(run.pk, current, RunStatus.CANCELLED)
        notify.notify_run(run.pk, notify.STATUS)
    run.refresh_from_db()
    return run
