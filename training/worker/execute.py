"""Run one claimed run to its end inside a worker process.

Here the worker meets the runner: this module imports :mod:`runner.launch` to start each
job as its own process (the web side imports the runner nowhere else but ``runner.cli``,
behind ``manage.py compose``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from compose.engine import ResumePlan, WorkflowCancelled, WorkflowFailed, run_workflow
from compose.errors import ComposeError
from compose.jobenv import job_environment
from compose.jobspec import REMOTE_CODE_ENV, JobCancelled, JobExecutor, JobFailed, JobSpec
from compose.jsonvalue import jsonable
from compose.loader import load_compose
from runner.launch import InProcessExecutor, SubprocessExecutor
from training.actions import finish_run, mark_interrupted
from training.models import Gpu, JobRun, JobRunStatus, Run, RunStatus
from training.secret_box import SecretUnreadable
from training.worker.heartbeat import Heartbeat
from training.worker.recorder import EventRecorder, redact

log = logging.getLogger(__name__)


class _Active:
    """The runs this process is executing, so a stopping worker can stop them first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[int, tuple[threading.Event, threading.Event]] = {}  # id -> (cancel, done)
        self.stopping = threading.Event()


_active = _Active()


def stop_active_runs(timeout_s: float) -> list[int]:
    """Stop every run this worker executes and wait (up to ``timeout_s``) for them to end.

    Called when the worker process shuts down: the job processes live in their own
    process groups and would otherwise outlive it. The runs end ``interrupted`` (the
    trainer saves a checkpoint on the way out), ready for a rerun.
    """
    _active.stopping.set()
    with _active.lock:
        runs = dict(_active.runs)
    for cancel, _ in runs.values():
        cancel.set()
    deadline = time.monotonic() + timeout_s
    for done_event in (done for _, done in runs.values()):
        done_event.wait(max(0.0, deadline - time.monotonic()))
    return list(runs)


def worker_name() -> str:
    return settings.COMPOSE_WORKER_NAME or f"{socket.gethostname()}:{os.getpid()}"


def job_env() -> dict[str, str]:
    """The part of this worker's environment a job may see (never the server's keys)."""
    return job_environment(os.environ, settings.COMPOSE_JOB_ENV_ALLOW)


def default_executor(gpus: list[int] | None = None) -> JobExecutor:
    if settings.COMPOSE_EXECUTOR == "inprocess":
        return InProcessExecutor()
    return SubprocessExecutor(
        base_env=gpu_env(job_env(), gpus),
        memory_mb=settings.COMPOSE_JOB_MEMORY_MB,
        timeout_s=settings.COMPOSE_JOB_TIMEOUT_S,
    )


def gpu_env(env: dict[str, str], gpus: list[int] | None) -> dict[str, str]:
    """``env`` with ``CUDA_VISIBLE_DEVICES`` set to exactly the GPUs the run holds (none:
    an empty value, so a run that asked for no GPU cannot touch the ones others hold);
    ``gpus`` None leaves the worker's own setting, as a worker without placement does."""
    if gpus is None:
        return env
    # Indices as nvidia-smi numbers them (CUDA's own default order is fastest first).
    return {**env, "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in gpus)}


def active_count() -> int:
    """Runs this process executes now; a stopping worker counts as full."""
    if _active.stopping.is_set():
        return 1 << 30
    with _active.lock:
        return len(_active.runs)


class WorkspaceGuard:
    """Wraps an executor with the workspace's rules that bindings could otherwise dodge.

    ``trust_remote_code: ${input.x}`` is only known once bound, so the check the run
    form does on literal values is repeated here on every resolved job.
    """

    def __init__(self, inner: JobExecutor, allow_remote_code: bool):
        self.inner = inner
        self.allow_remote_code = allow_remote_code

    def execute(self, spec: JobSpec, on_event: Callable[[dict], None], cancel: threading.Event) -> Any:
        if spec.config.get("trust_remote_code"):
            if not self.allow_remote_code:
                raise JobFailed(f"job {spec.job_id}: this workspace does not allow trust_remote_code")
            # The job process checks the switch itself (runner.dataset_prep.hub): the workspace's
            # setting is what turns it on, whatever the worker's own environment says.
            spec = dataclasses.replace(spec, env={**spec.env, REMOTE_CODE_ENV: "1"})
        return self.inner.execute(spec, on_event, cancel)


def run_claimed(run_id: int, worker: str, *, gpus: list[int] | None = None, executor: JobExecutor | None = None) -> str:
    """Execute a run this worker has claimed, on ``gpus`` (see :func:`gpu_env`)."""
    cancel, done = threading.Event(), threading.Event()
    with _active.lock:
        _active.runs[run_id] = (cancel, done)
    try:
        return _execute(run_id, worker, cancel, executor, gpus)
    finally:
        with _active.lock:
            _active.runs.pop(run_id, None)
        done.set()
        if gpus:
            _let_go(run_id, worker)


def _let_go(run_id: int, worker: str) -> None:
    """However the run ended, what it held on this worker is free again (the ending
    transaction already did this; a crash between the two must not keep them)."""
    try:
        Gpu.objects.filter(run_id=run_id, worker__name=worker).exclude(run__status=RunStatus.RUNNING).update(
            run=None, claimed_at=None
        )
    except Exception:
        log.warning("could not let go of the GPUs of run %s", run_id, exc_info=True)


def _execute(
    run_id: int, worker: str, cancel: threading.Event, executor: JobExecutor | None, gpus: list[int] | None = None
) -> str:
    run = Run.objects.select_related("workspace").get(pk=run_id)
    workspace = run.workspace
    try:
        secrets = workspace.secrets_dict()
    except (SecretUnreadable, ImproperlyConfigured) as exc:  # nothing has started: the run fails, saying why
        finish_run(run, RunStatus.FAILED, error=str(exc))
        return str(RunStatus.FAILED)
    recorder = EventRecorder(run, secrets.values())
    beat = Heartbeat(run_id, worker, cancel, settings.COMPOSE_HEARTBEAT_S)
    beat.start()
    try:
        doc = load_compose(run.yaml_snapshot)
        _create_job_rows(run, doc)
        plan = resume_plan(run)
        root = Path(workspace.root)
        root.mkdir(parents=True, exist_ok=True)
        run.folder.mkdir(parents=True, exist_ok=True)
        storage = workspace.storage
        storage.mkdir(parents=True, exist_ok=True)
        output = run_workflow(
            doc,
            run.workflow_id,
            run.inputs,
            executor=WorkspaceGuard(executor or default_executor(gpus), workspace.allow_remote_code),
            base_dir=str(root),
            storage_dir=str(storage),
            env=gpu_env({**job_env(), **secrets}, gpus),
            secrets=list(secrets.values()),
            run_id=str(run.pk),
            on_event=recorder,
            cancel=cancel,
            default_models=workspace.default_models(),
            write_dir=run.folder,
            resume=plan,
        )
    except (WorkflowCancelled, JobCancelled):
        status, result, error = RunStatus.CANCELLED, None, ""
    except JobFailed as exc:
        status, result, error = RunStatus.FAILED, None, exc.message
    except (WorkflowFailed, ComposeError) as exc:  # their text names the job or the field
        status, result, error = RunStatus.FAILED, None, str(exc)
    except Exception as exc:
        log.exception("run %s crashed", run_id)
        status, result, error = RunStatus.FAILED, None, f"{type(exc).__name__}: {exc}"
    else:
        status, result, error = RunStatus.SUCCEEDED, jsonable(output), ""
    finally:
        beat.stop()
        recorder.close()  # every event is stored before the run's final status
    if status == RunStatus.FAILED and cancel.is_set():
        # A job killed by our own cancel may report a plain failure (exit by signal).
        status = RunStatus.CANCELLED
    if status != RunStatus.SUCCEEDED and _active.stopping.is_set():
        mark_interrupted(run, f"the worker {worker} was stopped while the run was going on")
        return str(RunStatus.INTERRUPTED)
    finish_run(run, status, output=redact(result, secrets.values()), error=redact(error, secrets.values()))
    return str(status)


def resume_plan(run: Run) -> Any:
    """What this run continues, or None: its own earlier attempt (finished jobs kept,
    trainers resume in their own folders) or the run it resumes (its finished jobs' outputs
    kept, trainers resume from the newest checkpoint down the line of resumed runs)."""
    if run.attempt > 1:
        done = dict(run.job_runs.filter(status=JobRunStatus.SUCCEEDED).values_list("job_id", "output"))
        return ResumePlan(done=done)
    parent = run.resumed_from
    if parent is None:
        return None
    done = dict(parent.job_runs.filter(status=JobRunStatus.SUCCEEDED).values_list("job_id", "output"))
    lineage: dict[str, list[str]] = {}
    ancestor: Run | None = parent
    seen: set[int] = set()
    while ancestor is not None and ancestor.pk not in seen:
        seen.add(ancestor.pk)
        for job_id, config in ancestor.job_runs.values_list("job_id", "config"):
            folder = (config or {}).get("output_dir") if isinstance(config, dict) else None
            if isinstance(folder, str) and folder != "***":
                lineage.setdefault(job_id, []).append(folder)
        ancestor = ancestor.resumed_from
    return ResumePlan(done=done, lineage=lineage)


def _create_job_rows(run: Run, doc: Any) -> None:
    """A pending row per job so the run page shows the whole plan before anything starts."""
    workflow = doc.workflow(run.workflow_id)
    if workflow is None:
        return
    reused: dict[str, Any] = {}
    if run.resumed_from is not None:
        reused = {row.job_id: row for row in run.resumed_from.job_runs.filter(status=JobRunStatus.SUCCEEDED)}
    for position, job in enumerate(workflow.jobs):
        defaults: dict[str, Any] = {"component_id": job.component, "position": position}
        earlier = reused.get(job.id)
        if earlier is not None:
            defaults.update(
                status=JobRunStatus.SUCCEEDED,
                output=earlier.output,
                config=earlier.config,
                message=f"finished in run {run.resumed_from_id}; its output is used again",
                progress_current=earlier.progress_current,
                progress_total=earlier.progress_total,
                progress_unit=earlier.progress_unit,
            )
        JobRun.objects.get_or_create(run=run, job_id=job.id, defaults=defaults)
