"""Turns the engine's events into RunEvent rows, one at a time, in arrival order."""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterable

from django.db import close_old_connections

from compose.events import Event
from training.actions import record_event
from training.models import Run

log = logging.getLogger(__name__)


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` with every secret string replaced by ``***`` (recursively)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


class EventRecorder:
    """The ``on_event`` callback handed to the engine.

    Jobs that run at the same time report from different threads; the lock keeps one
    writer per run in this process so seqs follow arrival order (the row lock in
    ``record_event`` covers writers in other processes).
    """

    def __init__(self, run: Run, secrets: Iterable[str] = ()):
        self.run = run
        self.secrets = [s for s in secrets if s]
        self._lock = threading.Lock()
        self.failures = 0

    def __call__(self, event: Event) -> None:
        clean = redact(event, self.secrets)
        with self._lock:
            try:
                record_event(self.run, clean)
            except Exception:
                # Losing one event must not kill a training job that took hours to get here.
                self.failures += 1
                log.exception("could not record event %s of run %s", event.get("type"), self.run.pk)
            finally:
                if threading.current_thread() is not threading.main_thread():
                    close_old_connections()
