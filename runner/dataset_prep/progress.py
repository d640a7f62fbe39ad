"""Rows-done progress events, throttled so a fast loop does not flood the event stream."""

from __future__ import annotations

import time

from compose import events

# A few updates a second are enough for a progress bar and cost nothing next to the work.
MIN_INTERVAL_S = 0.3


class RowProgress:
    """Counts rows for one stage (``map``, ``filter``, ``load`` ...) and emits ``progress`` events."""

    def __init__(self, ctx, stage: str, total: int | None, *, interval_s: float = MIN_INTERVAL_S):
        self._ctx = ctx
        self.stage = stage
        self.total = total
        self.current = 0
        self._interval = interval_s
        self._start = time.monotonic()
        self._last = float("-inf")
        self._last_reported: int | None = None

    def advance(self, rows: int) -> None:
        self.current += rows
        self._ctx.check_cancelled()
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._emit(now)

    def finish(self) -> None:
        """Report the final count once (unless that exact count was the last report)."""
        if self._last_reported != self.current:
            self._emit(time.monotonic())

    def _emit(self, now: float) -> None:
        self._last = now
        self._last_reported = self.current
        eta = None
        if self.total and self.current:
            eta = round((now - self._start) / self.current * max(self.total - self.current, 0), 2)
        if self._ctx.is_main:
            self._ctx.emit(
                events.progress(self._ctx.job, self.current, self.total, unit="rows", stage=self.stage, eta_s=eta)
            )
