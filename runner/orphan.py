"""A job process that outlives the worker which started it stops by itself.

The worker starts each job in a process group of its own (so cancel reaches the whole
tree), which also means a worker killed with SIGKILL takes none of its jobs with it. The
executor names itself in the job's environment; every process of the job (each torchrun
rank too) watches that process and, once it is gone, stops as a cancel would (a trainer
saves a checkpoint), removes its spec file, and exits for good after a grace period.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from compose import events

PARENT_PID_ENV = "COMPOSE_PARENT_PID"
GRACE_ENV = "COMPOSE_ORPHAN_GRACE_S"
POLL_S = 0.5


def _identity(pid: int) -> float | None:
    """The start time of process ``pid`` while it runs (a zombie counts as gone), else None."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except psutil.Error:
        return None


def watch_parent(
    on_orphaned: Callable[[], None], spec_path: Path | None = None, environ: Mapping[str, str] = os.environ
) -> threading.Thread | None:
    """Start a daemon thread that calls ``on_orphaned`` once the worker named in ``environ``
    is gone, removes ``spec_path``, and ends the process ``COMPOSE_ORPHAN_GRACE_S`` later.

    Returns None (nothing to watch) when the environment names no parent.
    """
    raw = environ.get(PARENT_PID_ENV, "")
    if not raw.isdigit():
        return None
    pid = int(raw)
    grace_s = float(environ.get(GRACE_ENV) or 30)
    born = _identity(pid)

    def gone() -> bool:
        return born is None or _identity(pid) != born

    def watch() -> None:
        stop = threading.Event()
        while not gone():
            stop.wait(POLL_S)
        if spec_path is not None:
            _remove(spec_path)
        on_orphaned()
        stop.wait(grace_s)
        os._exit(events.EXIT_CANCELLED)

    thread = threading.Thread(target=watch, name="orphan-watch", daemon=True)
    thread.start()
    return thread


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
