"""``python -m runner --spec job.json``: run one job, report JSON-line events on stdout.

stdout carries events only; anything a library prints goes to stderr (the launcher
turns stderr lines into log events). SIGTERM or SIGINT sets ``ctx.cancelled``; the job
stops at its next step boundary (a trainer saves a checkpoint first) and the process
exits with ``EXIT_CANCELLED``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compose import events
from compose.jobspec import JobCancelled, JobFailed, JobSpec, redact
from runner.context import JobFunction, RunContext
from runner.dataset_prep import run_dataset_job
from runner.finetune import run_training_job
from runner.inference import run_model_job
from runner.library_warnings import report_warnings
from runner.orphan import watch_parent
from runner.process_limits import apply_memory_limit, out_of_memory_message


def dispatch(spec: JobSpec) -> JobFunction:
    """The implementation for a spec's component type (each package imports its
    libraries and modules only when its job runs)."""
    if spec.component_type == "datasets":
        return run_dataset_job
    if spec.component_type == "model-trainer":
        return run_training_job
    if spec.component_type == "model":
        return run_model_job
    raise JobFailed(f"component type {spec.component_type!r} cannot be run by compose-web")


def run_job(
    spec: JobSpec,
    emit: Callable[[events.Event], None],
    cancelled: threading.Event | None = None,
    *,
    rank: int = 0,
    world_size: int = 1,
) -> Any:
    """Run a job in this process; return its output (also emitted as an ``output`` event).

    Raises JobFailed / JobCancelled after reporting the matching status event.
    """
    ctx = RunContext(spec=spec, emit=emit, cancelled=cancelled or threading.Event(), rank=rank, world_size=world_size)
    job = spec.job_id
    if ctx.is_main:
        emit(events.status(job, "running"))
    try:
        output = dispatch(spec)(ctx)
    except JobCancelled as exc:
        if ctx.is_main:
            emit(events.status(job, "cancelled", str(exc)))
        raise
    except JobFailed as exc:
        if ctx.is_main:
            emit(events.status(job, "failed", ctx.redact(exc.message)))
        raise
    except MemoryError as exc:
        message = out_of_memory_message()
        if ctx.is_main:
            emit(events.status(job, "failed", message))
        raise JobFailed(message) from exc
    except Exception as exc:  # an unexpected error still ends as a plain failure event
        message = ctx.redact(f"{type(exc).__name__}: {exc}")
        if ctx.is_main:
            emit(events.log(job, ctx.redact(traceback.format_exc()), "debug"))
            emit(events.status(job, "failed", message))
        raise JobFailed(message) from exc
    if ctx.is_main:
        emit(events.output(job, output))
        emit(events.status(job, "succeeded"))
    return output


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, type=Path, help="job spec JSON file")
    parser.add_argument(
        "--remove-spec",
        action="store_true",
        help="delete the spec file once read (it may hold secrets; one process reads it)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    apply_memory_limit()
    try:
        spec = JobSpec.read(args.spec)
    except (OSError, ValueError, TypeError) as exc:
        print(f"runner: cannot read job spec {args.spec}: {exc}", file=sys.stderr)
        return events.EXIT_USAGE
    finally:
        if args.remove_spec:
            args.spec.unlink(missing_ok=True)

    # Events own stdout; route stray prints from libraries to stderr.
    event_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    rank = int(os.environ.get("RANK", "0"))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    writer = events.JsonLineWriter(event_stream)
    emit = writer if rank == 0 else (lambda event: None)

    report_warnings(spec.job_id, emit, lambda text: redact(text, spec.secrets))
    cancelled = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        cancelled.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watch_parent(cancelled.set, args.spec)

    try:
        run_job(spec, emit, cancelled, rank=rank, world_size=world_size)
    except JobCancelled:
        return events.EXIT_CANCELLED
    except JobFailed:
        return events.EXIT_FAILED
    return events.EXIT_OK
