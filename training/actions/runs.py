"""State changes of runs: every change of ``Run.status`` happens here.

Each function writes the row with a conditional UPDATE (so two processes racing on
the same run cannot both win), records what happened as a run event, and wakes the
run's open pages after commit.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone as dt_timezone
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from compose import events as ev
from compose.errors import ComposeError, Problem
from training import notify
from training.actions.errors import InvalidTransition, RunRefused
from training.models import ComposeDocument, Run, RunEvent, RunStatus, Workspace
from training.actions.derived import apply_event, json_safe

log = logging.getLogger(__name__)


def validate_run(workspace: Workspace, yaml_text: str, workflow_id: str | None,
                 inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check a run before it is queued; return the workflow id and the coerced inputs.

    Raises :class:`RunRefused` listing every problem: the file, the inputs, and what the
    engine's preflight finds (a trainer without a base model, remote code not allowed).
    """
    from compose.engine import preflight
    from compose.inputs import coerce_inputs, workflow_inputs
    from compose.loader import load_compose

    try:
        doc = load_compose(yaml_text)
    except ComposeError as exc:
        raise RunRefused(exc.errors or exc.problems) from exc
    workflow = doc.workflow(workflow_id or None)
    if workflow is None:
        known = ", ".join(w.id for w in doc.workflows) or "none"
        wanted = f"workflow {workflow_id!r}" if workflow_id else "a workflow (there are several and none is default)"
        raise RunRefused([Problem("workflows", f"no {wanted}; this file has: {known}")])
    problems: list[Problem] = list(
        preflight(doc, workflow.id, inputs, default_models=workspace.default_models()))
    if not workspace.allow_remote_code:
        for index, component in enumerate(doc.components):
            if component.fields.get("trust_remote_code") is True:
                problems.append(Problem(
                    f"components[{index}].trust_remote_code",
                    "this workspace does not allow remote code; an admin can enable it"))
    errors = [p for p in problems if p.is_error]
    if errors:
        raise RunRefused(errors)
    try:
        values = coerce_inputs(workflow_inputs(doc, workflow.id), inputs)
    except ComposeError as exc:
        raise RunRefused(exc.errors or exc.problems) from exc
    return workflow.id, values


def enqueue_run(document: ComposeDocument, workflow_id: str | None, inputs: dict[str, Any],
                user) -> Run:
    """Validate, store a queued run with a snapshot of the file, start it after commit."""
    workflow, values = validate_run(document.workspace, document.yaml_text, workflow_id, inputs)
    return _create_run(document.workspace, document, workflow, document.yaml_text, values, user)


def rerun(run: Run, user) -> Run:
    """A new run of the same snapshot, workflow and inputs (validated again)."""
    workflow, values = validate_run(run.workspace, run.yaml_snapshot, run.workflow_id, run.inputs)
    return _create_run(run.workspace, run.document, workflow, run.yaml_snapshot, values, user,
                       rerun_of=run)


def _create_run(workspace: Workspace, document: ComposeDocument | None, workflow_id: str,
                yaml_text: str, inputs: dict[str, Any], user, rerun_of: Run | None = None) -> Run:
    from training.tasks import schedule_run

    with transaction.atomic():
        run = Run.objects.create(workspace=workspace, document=document, workflow_id=workflow_id,
                                 yaml_snapshot=yaml_text, inputs=inputs, created_by=user,
                                 rerun_of=rerun_of)
        who = getattr(user, "username", None) or "someone"
        note = f" (rerun of run {rerun_of.pk})" if rerun_of else ""
        record_event(run, ev.log("", f"Queued by {who}{note}"))
        run_id = run.pk
        transaction.on_commit(lambda: schedule_run(run_id))
    return run


def request_cancel(run: Run, user) -> Run:
    """Cancel a queued run at once; ask a running one to stop (the worker finishes it)."""
    who = getattr(user, "username", None) or "someone"
    with transaction.atomic():
        now = timezone.now()
        if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
                status=RunStatus.CANCELLED, cancel_requested=True, finished=now):
            record_event(run, ev.log("", f"Cancelled by {who} before it started"))
        elif Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, cancel_requested=False).update(
                cancel_requested=True):
            record_event(run, ev.log("", f"Cancel requested by {who}; stopping the running jobs"))
        elif not Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).exists():
            current = Run.objects.values_list("status", flat=True).get(pk=run.pk)
            raise InvalidTransition(run.pk, current, RunStatus.CANCELLED)
        notify.notify_run(run.pk, notify.STATUS)
    run.refresh_from_db()
    return run


# --- worker side --------------------------------------------------------------------

def claim_run(run_id: int, worker: str) -> bool:
    """Take a queued run for this worker; False when another worker (or a cancel) won."""
    now = timezone.now()
    with transaction.atomic():
        claimed = Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, worker=worker, started=now, heartbeat_at=now)
        if claimed:
            record_event(Run(pk=run_id), ev.log("", f"Started on worker {worker}"))
            notify.notify_run(run_id, notify.STATUS)
    return bool(claimed)


def heartbeat(run_id: int, worker: str) -> bool:
    """Prove the worker is alive; return True when the worker should stop the run.

    That is when a cancel was requested, or when the run is no longer this worker's
    running run (it was marked interrupted while the worker stalled).
    """
    mine = Run.objects.filter(pk=run_id, status=RunStatus.RUNNING, worker=worker)
    if not mine.update(heartbeat_at=timezone.now()):
        return True
    return mine.filter(cancel_requested=True).exists()


def record_event(run: Run, event: ev.Event) -> RunEvent:
    """Store one event with the run's next seq, update the derived tables, wake pages.

    The seq counter lives on the Run row and is bumped in the same transaction as the
    insert: the UPDATE locks the row, so concurrent writers (several jobs, the web
    process) are serialized and a rolled-back insert gives its number back.
    """
    with transaction.atomic():
        Run.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
        seq = Run.objects.filter(pk=run.pk).values_list("last_seq", flat=True).get()
        ts = event.get("ts")
        when = (datetime.fromtimestamp(ts, tz=dt_timezone.utc)
                if isinstance(ts, (int, float)) else timezone.now())
        event = json_safe(event)
        row = RunEvent.objects.create(run_id=run.pk, seq=seq, type=str(event.get("type", "log")),
                                      job_id=str(event.get("job") or ""), payload=event, ts=when)
        apply_event(run.pk, event)
        notify.notify_run(run.pk, notify.EVENT)
    return row


def finish_run(run: Run, status: str, *, output: Any = None, error: str = "") -> bool:
    """End a running run as succeeded, failed or cancelled; False if it was not running."""
    if status not in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        raise InvalidTransition(run.pk, RunStatus.RUNNING, status)
    with transaction.atomic():
        done = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=status, finished=timezone.now(), output=output, error=error)
        if done:
            _close_open_jobs(run.pk, status)
            message = {RunStatus.SUCCEEDED: "Run succeeded",
                       RunStatus.CANCELLED: "Run cancelled",
                       RunStatus.FAILED: f"Run failed: {error}"}[status]
            record_event(run, ev.log("", message, "error" if status == RunStatus.FAILED else "info"))
            notify.notify_run(run.pk, notify.STATUS)
    return bool(done)


def mark_interrupted(run: Run, reason: str) -> bool:
    """A running run whose worker is gone; False if it already ended."""
    with transaction.atomic():
        done = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.INTERRUPTED, finished=timezone.now(), error=reason)
        if done:
            _close_open_jobs(run.pk, RunStatus.INTERRUPTED)
            record_event(run, ev.log("", f"Run interrupted: {reason}", "error"))
            notify.notify_run(run.pk, notify.STATUS)
    return bool(done)


def mark_stale_runs(stale_after_s: float, now: datetime | None = None) -> list[int]:
    """Mark interrupted every running run whose heartbeat is older than ``stale_after_s``."""
    cutoff = (now or timezone.now()) - timedelta(seconds=stale_after_s)
    stale = Run.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started__lt=cutoff))
    marked = []
    for run in stale.only("pk", "worker", "heartbeat_at"):
        reason = (f"worker {run.worker or '?'} stopped sending heartbeats "
                  f"(none for over {int(stale_after_s)} s)")
        # Re-check the heartbeat in the UPDATE: it may have beaten since we looked.
        with transaction.atomic():
            done = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).filter(
                Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)).update(
                status=RunStatus.INTERRUPTED, finished=timezone.now(), error=reason)
            if done:
                _close_open_jobs(run.pk, RunStatus.INTERRUPTED)
                record_event(run, ev.log("", f"Run interrupted: {reason}", "error"))
                notify.notify_run(run.pk, notify.STATUS)
                marked.append(run.pk)
    if marked:
        log.warning("marked %d stale run(s) interrupted: %s", len(marked), marked)
    return marked


def _close_open_jobs(run_id: int, run_status: str) -> None:
    from training.models import JobRun, JobRunStatus

    job_status = (JobRunStatus.CANCELLED if run_status == RunStatus.CANCELLED
                  else JobRunStatus.FAILED)
    JobRun.objects.filter(run_id=run_id, status=JobRunStatus.RUNNING).update(
        status=job_status, finished=timezone.now())
