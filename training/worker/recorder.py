"""Turns the engine's events into RunEvent rows, in arrival order, from one writer thread."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from typing import Any

from django.db import connection

from compose.events import Event
from compose.jobspec import redact
from training.actions import record_events
from training.models import Run

log = logging.getLogger(__name__)

_DONE = object()
BATCH = 200


class EventRecorder:
    """The ``on_event`` callback handed to the engine.

    Jobs running at the same time report from their own threads; they only put the
    event on a queue, and a single writer thread stores them in arrival order. So a
    slow database never stalls a job's output pipe, seqs follow arrival order, and
    exactly one thread (closed in :meth:`close`) holds a database connection.
    """

    def __init__(self, run: Run, secrets: Iterable[str] = ()):
        self.run = run
        self.secrets = [s for s in secrets if s]
        self.failures = 0
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer = threading.Thread(target=self._write_all, name=f"events-run-{run.pk}", daemon=True)
        self._writer.start()

    def __call__(self, event: Event) -> None:
        self._queue.put(redact(event, self.secrets))

    def close(self) -> None:
        """Store everything queued so far, then stop the writer."""
        self._queue.put(_DONE)
        self._writer.join()

    def _write_all(self) -> None:
        done = False
        try:
            while not done:
                # Whatever piled up while the last batch was written goes in one
                # transaction with one wake-up for the pages.
                batch = [self._queue.get()]
                while len(batch) < BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if _DONE in batch:
                    done = True
                    batch = [e for e in batch if e is not _DONE]
                if batch:
                    self._write(batch)
        finally:
            connection.close()

    def _write(self, batch: list[Event]) -> None:
        try:
            _, failed = record_events(self.run, batch)
        except Exception:
            # Losing events must not kill a training job that took hours to get here.
            failed = len(batch)
            log.exception("could not record %d events of run %s", len(batch), self.run.pk)
        self.failures += failed
