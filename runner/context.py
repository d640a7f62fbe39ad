"""What a job implementation is handed: its spec, where its events go, and its cancel flag.

Its own module so that the job packages (``runner.dataset_prep``, ``runner.finetune``,
``runner.inference``) can name it while :mod:`runner.main`, which dispatches to them,
imports them at the top: the dependency runs one way, main -> jobs -> context.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compose import events
from compose.confine import PathOutside, confine, is_inside, real_roots
from compose.jobspec import JobCancelled, JobFailed, JobSpec, redact


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
            raise JobFailed(f"{shown} reaches {path.name} through a symbolic link that leads outside the workspace")
        return path

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled(f"job {self.job} cancelled")


JobFunction = Callable[[RunContext], Any]
