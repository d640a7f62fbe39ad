"""A thread that keeps a run's heartbeat fresh and turns a cancel request into a signal."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connection

from training.actions import heartbeat, mark_stale_runs

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    """Every ``interval_s``: update ``heartbeat_at``; set ``cancel`` when a stop is asked.

    A stop is asked when someone requested a cancel, or when the run is no longer this
    worker's running run (marked interrupted while the worker was stalled).
    """

    def __init__(self, run_id: int, worker: str, cancel: threading.Event, interval_s: float):
        super().__init__(name=f"heartbeat-run-{run_id}", daemon=True)
        self.run_id = run_id
        self.worker = worker
        self.cancel = cancel
        self.interval_s = interval_s
        self._halt = threading.Event()

    def run(self) -> None:
        next_stale_check = time.monotonic() + settings.COMPOSE_STALE_AFTER_S
        try:
            while not self._halt.wait(self.interval_s):
                try:
                    if heartbeat(self.run_id, self.worker):
                        self.cancel.set()
                    # A worker busy for hours still notices a dead peer's runs.
                    if time.monotonic() >= next_stale_check:
                        next_stale_check = time.monotonic() + settings.COMPOSE_STALE_AFTER_S
                        mark_stale_runs(settings.COMPOSE_STALE_AFTER_S)
                except Exception:  # a busy database now and then is no reason to stop
                    log.warning("heartbeat of run %s failed", self.run_id, exc_info=True)
        finally:
            connection.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=self.interval_s + 5)
