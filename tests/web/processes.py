"""Waiting on and stopping the real worker processes some web tests start."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, log: Path, every: float = 0.25) -> None:
    """Poll ``predicate`` until it holds; on time-out fail with the end of ``log``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-5000:]}")


def stop(proc: subprocess.Popen | None) -> None:
    """Ask a worker to stop as Ctrl-C would; kill it if it has not stopped in 30 s."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
