"""The run page's websocket: ``ws/runs/<run_id>/?after=<seq>``.

Server messages (all sent through :meth:`RunConsumer.send_message` or, already written
as text, :meth:`RunConsumer.send_frame`)::

    {"type": "event", "seq": 12, "event": {...compose event record...}}
    {"type": "run", "status": "running", "started": ..., "finished": ...,
     "cancel_requested": false, "error": ""}   (sent first, then on every change)

Client message: ``{"type": "resume", "after": <seq>}`` replays from that seq.

The database is the record; the pages of a run in one web process share a
:class:`RunHub`, which brings them what is new. A page reads the database itself only
to catch up: when it opens, on ``resume``, and if what the hub hands it does not follow
on from its last seq. The hub takes the batches the worker pushes through the channel
layer (``run.events``: the frames written once, in the worker), and reads the database
once per poll interval, for every page of the run together, for what no push brought:
the worker's events without Redis (the in-memory layer does not leave its process), a
lost push, the run's status. Each page sends every seq once, in order, with no gap.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from training import notify
from training.actions.events import frames
from training.models import Run, events_after, is_member

log = logging.getLogger(__name__)

BATCH = 500
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_GONE = 4404

Frames = list[tuple[int, str]]  # (seq, the websocket message as text)
_UNREAD = object()


class RunConsumer(AsyncJsonWebsocketConsumer):
    run_id: int
    after: int
    _sender: asyncio.Task | None = None
    _hub: RunHub | None = None

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
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._last_run_state: dict[str, Any] | None = None
        await self.accept()
        # Join the hub before reading: whatever it hands on from now is queued, so the
        # catch-up below and the hub's batches leave no gap between them.
        self._hub = await RunHub.join(self.run_id, self)
        self._inbox.put_nowait(("catch-up", None))
        self._sender = asyncio.create_task(self._send_loop())

    async def disconnect(self, code: int) -> None:
        # Only this socket goes away; the run goes on in its worker.
        if self._sender is not None:
            self._sender.cancel()
            try:
                await self._sender
            except (asyncio.CancelledError, Exception):
                pass
        if self._hub is not None:
            await self._hub.leave(self)
            self._hub = None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "resume":
            after = content.get("after")
            if isinstance(after, int) and not isinstance(after, bool) and after >= 0:
                self._inbox.put_nowait(("resume", after))

    async def send_message(self, message: dict) -> None:
        """Every server message goes out here (or as ready text through :meth:`send_frame`)."""
        await self.send_json(message)

    async def send_frame(self, text: str) -> None:
        await self.send(text_data=text)

    # What the hub hands on.
    def hand_events(self, batch: Frames) -> None:
        self._inbox.put_nowait(("events", batch))

    def hand_state(self, state: dict[str, Any] | None) -> None:
        self._inbox.put_nowait(("state", state))

    async def _send_loop(self) -> None:
        while True:
            kind, value = await self._inbox.get()
            try:
                if kind == "events":
                    await self._send_events(value)
                    continue
                if kind == "resume":
                    self.after = value
                    self._last_run_state = None  # resend the run header too
                state = value if kind == "state" else await self._catch_up()
                if state is None:  # the run was deleted
                    await self.close(code=CLOSE_GONE)
                    if self._hub is not None:
                        await self._hub.leave(self)
                        self._hub = None
                    return
                if state != self._last_run_state:
                    self._last_run_state = state
                    await self.send_message({"type": "run", **state})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("run %s: could not send events", self.run_id)

    async def _send_events(self, batch: Frames) -> None:
        if batch and batch[0][0] > self.after + 1:
            await self._catch_up(batch[0][0] - 1)  # it missed some: read them first
        for seq, text in batch:
            if seq == self.after + 1:
                await self.send_frame(text)
                self.after = seq

    async def _catch_up(self, until: int | None = None) -> dict[str, Any] | None:
        """Send the events after ``self.after`` from the database (up to ``until``); return the run's state."""
        while True:
            state, rows = await _read(self.run_id, self.after)
            for seq, text in rows:
                if seq == self.after + 1 and (until is None or seq <= until):
                    await self.send_frame(text)
                    self.after = seq
            if len(rows) < BATCH or (until is not None and self.after >= until):
                return state

    @database_sync_to_async
    def _may_see(self, user) -> bool:
        run = Run.objects.select_related("workspace").filter(pk=self.run_id).first()
        return run is not None and is_member(user, run.workspace)


class RunHub:
    """The pages of one run in this process, and what brings them new events.

    One channel on the layer (joined to the run's group) per run and process, and one
    poll of the database per interval, however many pages are open.
    """

    hubs: dict[tuple[int, int], RunHub] = {}  # (id of the event loop, run id)

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.pages: set[RunConsumer] = set()
        self.cursor = 0  # the last seq handed on
        self.state: Any = _UNREAD  # the run's state as last read (None: the run is gone)
        self._lock = asyncio.Lock()
        self._poke = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._layer = get_channel_layer()
        self._loop = asyncio.get_running_loop()
        self._channel: str | None = None

    @classmethod
    async def join(cls, run_id: int, page: RunConsumer) -> RunHub:
        key = (id(asyncio.get_running_loop()), run_id)
        hub = cls.hubs.get(key)
        if hub is None or hub._loop is not asyncio.get_running_loop():
            hub = cls.hubs[key] = RunHub(run_id)
            await hub._start()
        hub.pages.add(page)
        return hub

    async def leave(self, page: RunConsumer) -> None:
        self.pages.discard(page)
        if self.pages:
            return
        key = (id(asyncio.get_running_loop()), self.run_id)
        if self.hubs.get(key) is self:
            del self.hubs[key]
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        if self._layer is not None and self._channel is not None:
            await self._layer.group_discard(notify.group_name(self.run_id), self._channel)

    async def _start(self) -> None:
        self.cursor = await _last_seq(self.run_id)
        if self._layer is not None:
            self._channel = await self._layer.new_channel()
            await self._layer.group_add(notify.group_name(self.run_id), self._channel)
            self._tasks.append(asyncio.create_task(self._listen()))
        self._tasks.append(asyncio.create_task(self._poll()))

    async def _listen(self) -> None:
        assert self._layer is not None and self._channel is not None
        while True:
            try:
                message = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("run %s: the channel layer failed; the poll goes on", self.run_id, exc_info=True)
                await asyncio.sleep(1)
                continue
            kind = message.get("type")
            if kind == "run.events" and message.get("frames"):
                await self._hand_on([(int(seq), str(text)) for seq, text in message["frames"]])
            elif kind in (notify.EVENT, notify.STATUS):
                self._poke.set()  # a change without data: the poll reads it now

    async def _poll(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._poke.wait(), timeout=settings.COMPOSE_EVENT_POLL_S)
            except TimeoutError:
                pass
            self._poke.clear()
            try:
                await self._read_new()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("run %s: could not read events", self.run_id)

    async def _read_new(self) -> None:
        while True:
            # Events first, then the run row: a status read after the events can only be
            # newer than them, so a page never shows "succeeded" before the last event.
            state, rows = await _read(self.run_id, self.cursor)
            await self._hand_on(rows)
            if len(rows) < BATCH:
                break
        if state != self.state:
            self.state = state
            for page in self.pages:
                page.hand_state(state)

    async def _hand_on(self, batch: Frames) -> None:
        async with self._lock:
            if batch and batch[0][0] > self.cursor + 1:
                # A push ahead of what this hub has seen (a lost push, a hub that just
                # started): the missing ones come from the database, once for all pages.
                _, missing = await _read(self.run_id, self.cursor, until=batch[0][0] - 1)
                batch = missing + batch
            fresh = [(seq, text) for seq, text in batch if seq > self.cursor]
            if not fresh:
                return
            self.cursor = fresh[-1][0]
            for page in self.pages:
                page.hand_events(fresh)
            if any('"type":"status"' in text for _, text in fresh):
                self._poke.set()  # a job's status is part of the run's state


@database_sync_to_async
def _last_seq(run_id: int) -> int:
    return Run.objects.filter(pk=run_id).values_list("last_seq", flat=True).first() or 0


@database_sync_to_async
def _read(run_id: int, after: int, until: int | None = None) -> tuple[dict[str, Any] | None, Frames]:
    rows = [(seq, text) for seq, text in frames(events_after(run_id, after, BATCH))]
    if until is not None:
        rows = [(seq, text) for seq, text in rows if seq <= until]
        return None, rows
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        return None, []
    return run.live_state(), rows


def _seq_from_query(query_string: bytes) -> int:
    values = parse_qs(query_string.decode("latin-1")).get("after", ["0"])
    try:
        return max(0, int(values[-1]))
    except ValueError:
        return 0
