"""The run page's websocket: ``ws/runs/<run_id>/?after=<seq>``.

Server messages (all sent through :meth:`RunConsumer.send_message`)::

    {"type": "event", "seq": 12, "event": {...compose event record...}}
    {"type": "run", "status": "running", "started": ..., "finished": ...,
     "cancel_requested": false, "error": ""}   (sent first, then on every change)

Client message: ``{"type": "resume", "after": <seq>}`` replays from that seq.

The database is the record. One tail loop sends the events after the last seq it
sent, then waits until it is woken (a ``run.event`` / ``run.status`` message from the
channel layer) or the poll interval passes, and reads again. Without Redis the
worker's wake-ups cannot reach this process; the poll brings its events anyway, so
both set-ups share one code path with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from training import notify
from training.models import Run, events_after, is_member

log = logging.getLogger(__name__)

BATCH = 500
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_GONE = 4404


class RunConsumer(AsyncJsonWebsocketConsumer):
    run_id: int
    after: int
    _tail: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        if not await self._may_see(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.after = _seq_from_query(self.scope.get("query_string", b""))
        self._wake = asyncio.Event()
        self._last_run_state: dict[str, Any] | None = None
        await self.channel_layer.group_add(notify.group_name(self.run_id), self.channel_name)
        await self.accept()
        self._tail = asyncio.create_task(self._tail_loop())

    async def disconnect(self, code: int) -> None:
        # Only this socket goes away; the run goes on in its worker.
        if self._tail is not None:
            self._tail.cancel()
            try:
                await self._tail
            except (asyncio.CancelledError, Exception):
                pass
        if hasattr(self, "run_id"):
            await self.channel_layer.group_discard(notify.group_name(self.run_id), self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "resume":
            after = content.get("after")
            if isinstance(after, int) and not isinstance(after, bool) and after >= 0:
                self.after = after
                self._last_run_state = None  # resend the run header too
                self._wake.set()

    # Channel-layer handlers: named after the message types of training.notify.
    async def run_event(self, message: dict) -> None:
        self._wake.set()

    async def run_events(self, message: dict) -> None:
        self._wake.set()

    async def run_status(self, message: dict) -> None:
        self._wake.set()

    async def send_message(self, message: dict) -> None:
        """Every server message goes out here."""
        await self.send_json(message)

    async def _tail_loop(self) -> None:
        poll = settings.COMPOSE_EVENT_POLL_S
        while True:
            self._wake.clear()
            try:
                full = await self._send_new()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("run %s: could not read events", self.run_id)
                full = False
            if full is None:
                await self.close(code=CLOSE_GONE)
                return
            if full:
                continue  # more are waiting: keep draining before sleeping
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=poll)
            except TimeoutError:
                pass

    async def _send_new(self) -> bool | None:
        """Send what is new; True when a full batch went out, None when the run is gone."""
        state, rows = await self._read(self.after)
        if state is None:  # the run was deleted
            return None
        for seq, payload in rows:
            if seq <= self.after:
                continue
            await self.send_message({"type": "event", "seq": seq, "event": payload})
            self.after = seq
        if state != self._last_run_state:
            self._last_run_state = state
            await self.send_message({"type": "run", **state})
        return len(rows) == BATCH

    @database_sync_to_async
    def _may_see(self, user) -> bool:
        run = Run.objects.select_related("workspace").filter(pk=self.run_id).first()
        return run is not None and is_member(user, run.workspace)

    @database_sync_to_async
    def _read(self, after: int) -> tuple[dict[str, Any] | None, list[tuple[int, Any]]]:
        # Events first, then the run row: a status read after the events can only be
        # newer than them, so the page never shows "succeeded" before the last event.
        rows = [(e.seq, e.payload) for e in events_after(self.run_id, after, BATCH)]
        run = Run.objects.filter(pk=self.run_id).first()
        if run is None:
            return None, []
        return run.live_state(), rows


def _seq_from_query(query_string: bytes) -> int:
    values = parse_qs(query_string.decode("latin-1")).get("after", ["0"])
    try:
        return max(0, int(values[-1]))
    except ValueError:
        return 0
