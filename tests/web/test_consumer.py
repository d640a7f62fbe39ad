"""The run websocket: login and membership checked, replay with no gap, live events."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from compose import events as ev
from tests.web.factories import make_run
from tests.web.wsclient import communicator, receive_until, session_cookie
from training import consumers, notify
from training.actions import claim_run, record_event, record_events
from training.actions import events as event_actions
from training.models import Run

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def events_of(messages: list[dict]) -> list[int]:
    return [m["seq"] for m in messages if m["type"] == "event"]


async def test_anonymous_visitors_are_refused(workspace):
    run = await database_sync_to_async(make_run)(workspace)
    comm = communicator(run.pk)
    connected, code = await comm.connect()
    await comm.disconnect()  # end the application, so no task outlives the test's loop
    assert connected is False and code == 4401


async def test_a_user_outside_the_workspace_is_refused(workspace, bob):
    run = await database_sync_to_async(make_run)(workspace)
    cookie = await database_sync_to_async(session_cookie)(bob)
    comm = communicator(run.pk, cookie)
    connected, code = await comm.connect()
    await comm.disconnect()
    assert connected is False and code == 4403


async def test_an_unknown_run_is_refused(workspace, alice):
    cookie = await database_sync_to_async(session_cookie)(alice)
    comm = communicator(999999, cookie)
    connected, code = await comm.connect()
    await comm.disconnect()
    assert connected is False and code == 4403


async def test_replay_after_reconnect_has_no_gap_and_no_duplicate(workspace, alice):
    run = await database_sync_to_async(make_run)(workspace, alice)
    for i in range(4):
        await database_sync_to_async(record_event)(run, ev.log("load", f"line {i}"))
    cookie = await database_sync_to_async(session_cookie)(alice)

    first = communicator(run.pk, cookie, after=0)
    assert (await first.connect())[0]
    got = await receive_until(first, lambda m: m["type"] == "run")
    assert events_of(got) == [1, 2, 3, 4]
    assert got[0]["event"]["message"] == "line 0" and got[-1]["status"] == "queued"
    await first.disconnect()

    # Two more while the page was away; the reconnect asks from the last seq it saw.
    for i in range(4, 6):
        await database_sync_to_async(record_event)(run, ev.log("load", f"line {i}"))
    second = communicator(run.pk, cookie, after=4)
    assert (await second.connect())[0]
    got = await receive_until(second, lambda m: m["type"] == "run")
    assert events_of(got) == [5, 6]
    assert await second.receive_nothing(timeout=0.5)
    await second.disconnect()


async def test_live_events_and_status_changes_arrive(workspace, alice):
    run = await database_sync_to_async(make_run)(workspace, alice)
    cookie = await database_sync_to_async(session_cookie)(alice)
    comm = communicator(run.pk, cookie)
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["status"] == "queued"

    await database_sync_to_async(claim_run)(run.pk, "w1")
    got = await receive_until(comm, lambda m: m["type"] == "run")
    assert got[-1]["status"] == "running" and got[-1]["started"]
    await database_sync_to_async(record_event)(run, ev.metric("train", 1, {"loss": 2.0}))
    got = await receive_until(comm, lambda m: m["type"] == "event" and m["event"]["type"] == "metric")
    assert got[-1]["event"]["values"] == {"loss": 2.0}
    await comm.disconnect()
    # Closing the page leaves the run alone.
    assert (await database_sync_to_async(Run.objects.get)(pk=run.pk)).status == "running"


async def test_events_from_another_process_arrive_by_the_poll(workspace, alice, monkeypatch):
    # Without Redis the worker's wake-ups never reach the web process: only the poll does.
    monkeypatch.setattr(notify, "send_now", lambda run_id, kind: None)
    monkeypatch.setattr(event_actions, "send_batch", lambda run_id, frames: None)
    run = await database_sync_to_async(make_run)(workspace, alice)
    cookie = await database_sync_to_async(session_cookie)(alice)
    comm = communicator(run.pk, cookie)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    await database_sync_to_async(record_event)(run, ev.log("load", "quietly"))
    got = await receive_until(comm, lambda m: m["type"] == "event", timeout=3)
    assert got[-1]["seq"] == 1 and got[-1]["event"]["message"] == "quietly"
    await comm.disconnect()


async def test_resume_replays_from_the_given_seq_on_the_same_socket(workspace, alice):
    run = await database_sync_to_async(make_run)(workspace, alice)
    for i in range(3):
        await database_sync_to_async(record_event)(run, ev.log("load", f"line {i}"))
    cookie = await database_sync_to_async(session_cookie)(alice)
    comm = communicator(run.pk, cookie)
    assert (await comm.connect())[0]
    assert events_of(await receive_until(comm, lambda m: m["type"] == "run")) == [1, 2, 3]
    await comm.send_json_to({"type": "resume", "after": 1})
    assert events_of(await receive_until(comm, lambda m: m["type"] == "run")) == [2, 3]
    await comm.disconnect()


async def test_the_socket_closes_when_its_run_is_deleted(workspace, alice):
    run = await database_sync_to_async(make_run)(workspace, alice)
    cookie = await database_sync_to_async(session_cookie)(alice)
    comm = communicator(run.pk, cookie)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=5)
    await database_sync_to_async(Run.objects.filter(pk=run.pk).delete)()
    assert (await comm.receive_output(timeout=5))["type"] == "websocket.close"


async def test_the_pages_of_a_run_share_one_hub_and_get_a_pushed_batch_without_reading(
    workspace, alice, settings, monkeypatch
):
    from training.consumers import RunHub

    settings.COMPOSE_EVENT_POLL_S = 30  # only the push can bring the batch in time
    run = await database_sync_to_async(make_run)(workspace, alice)
    cookie = await database_sync_to_async(session_cookie)(alice)
    pages = [communicator(run.pk, cookie) for _ in range(5)]
    for page in pages:
        assert (await page.connect())[0]
        await receive_until(page, lambda m: m["type"] == "run")
    assert len([hub for hub in RunHub.hubs.values() if hub.run_id == run.pk]) == 1
    reads: list[int] = []
    real_events_after = consumers.events_after

    def counted(*args, **kwargs):
        reads.append(1)
        return real_events_after(*args, **kwargs)

    monkeypatch.setattr(consumers, "events_after", counted)

    batch = [ev.log("train", f"line {i}") for i in range(3)]
    await database_sync_to_async(record_events)(run, batch)
    for page in pages:
        got = await receive_until(page, lambda m: m.get("seq") == 3)
        assert events_of(got) == [1, 2, 3] and got[-1]["event"]["message"] == "line 2"
    assert reads == []  # the frames came with the push
    for page in pages:
        await page.disconnect()
    assert not [hub for hub in RunHub.hubs.values() if hub.run_id == run.pk]
