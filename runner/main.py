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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from compose import events
from compose.confine import PathOutside, confine, is_inside, real_roots
from compose.jobspec import JobCancelled, JobFailed, JobSpec, redact
from runner.library_warnings import report_warnings
from runner.orphan import watch_parent
from runner.process_limits import apply_memory_limit, out_of_memory_message


@dataclass
class RunContext:
    """What a job implementation gets besides its spec."""

    spec: JobSpec
    emit: Callable[[events.Event], None]
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Process rank in a multi-process (torchrun) job; only rank 0 reports and writes.
    rank: int = 0
    world_size: int = 1

    @property
    def job(self) -> str:
        return self.spec.job_id

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def log(self, message: str, level: str = "info") -> None:
        if self.is_main:
            self.emit(events.log(self.job, self.redact(message), level))

    def redact(self, text: str) -> str:
        return redact(text, self.spec.secrets)

    def resolve_path(self, path: str | os.PathLike[str]) -> Path:
        """``path`` made absolute against the spec's folder; :class:`JobFailed` when a
        relative path climbs out of it or, in a confined job (``roots``), when its real
        location is outside them (``compose.confine``: the engine's rule)."""
        p = Path(path).expanduser()
        try:
            confine(str(path), self.spec.base_dir, roots=self.spec.roots, allow_absolute=True)
        except PathOutside as exc:
            raise JobFailed(str(exc)) from None
        return p if p.is_absolute() else Path(self.spec.base_dir) / p

    def check_inside(self, path: Path, shown: str) -> Path:
        """``path`` (a file a glob or folder scan found), or :class:`JobFailed` when a
        symlink takes it outside the job's ``roots``."""
        if self.spec.roots and not is_inside(path, real_roots(self.spec.roots)):
            raise JobFailed(f"{shown} reaches {path.name} through a symbolic link that leads outside "
                            "the workspace")
        return path

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job} cancelled")


JobFunction = Callable[[RunContext], Any]


def dispatch(spec: JobSpec) -> JobFunction:
    """The implementation for a spec's component type and method (imported lazily)."""
    if spec.component_type == "datasets":
        from runner.dataset_prep import run_dataset_job

        return run_dataset_job
    if spec.component_type == "model-trainer":
        from runner.finetune import run_training_job

        return run_training_job
    if spec.component_type == "model":
        from runner.inference import run_model_job

        return run_model_job
    raise JobFailed(f"component type {spec.component_type!r} cannot be run by compose-web")


def run_job(spec: JobSpec, emit: Callable[[events.Event], None],
            cancelled: threading.Event | None = None, *, rank: int = 0, world_size: int = 1) -> Any:
    """Run a job in this process; return its output (also emitted as an ``output`` event).

    Raises JobFailed / JobCancelled after reporting the matching status event.
    """
    ctx = RunContext(spec=spec, emit=emit, cancelled=cancelled or threading.Event(),
                     rank=rank, world_size=world_size)
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
    parser.add_argument("--remove-spec", action="store_true",
                        help="delete the spec file once read (it may hold secrets; one process reads it)")
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
