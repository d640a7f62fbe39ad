"""The scale-out set-up for real: PostgreSQL for the record, Redis for the queue and pushes.

Runs when DATABASE_URL and REDIS_URL are set (scripts/test.sh runs tests/web a second
time that way); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from tests.web.factories import TINY_DOCUMENT, make_run
from tests.web.wsclient import communicator, receive_until, session_cookie
from training.models import RunStatus

ROOT = Path(__file__).resolve().parents[2]
# How long a test waits for a message it expects. Each wait ends as soon as its message
# arrives, so the deadline costs nothing when all is well and only has to outlast a
# loaded machine (both cores busy training in the other test process).
WAIT_S = 60

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL",
    ),
    pytest.mark.django_db(transaction=True),
]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a second process sharing this test's database and folders."""
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(ROOT),
        "COMPOSE_STORAGE_DIR": str(settings.COMPOSE_STORAGE_DIR),
        "COMPOSE_WORKSPACES_DIR": str(settings.COMPOSE_WORKSPACES_DIR),
        "COMPOSE_HEARTBEAT_S": "0.5",
        **extra,
    }


def test_the_settings_use_postgres_redis_huey_and_the_redis_layer():
    from channels.layers import get_channel_layer
    from huey import PriorityRedisHuey
    from huey.contrib.djhuey import HUEY

    assert connection.vendor == "postgresql"
    assert isinstance(HUEY, PriorityRedisHuey)
    assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.asyncio
async def test_a_push_from_another_process_reaches_the_page_through_redis(workspace, alice, settings):
    # A poll far longer than the wait: only the Redis push can deliver the event in time.
    # Under load the second process can take longer to start than the layer's blocking
    # pop (5 s); the layer's socket read timeout outlasts that pop (compose_web.settings),
    # so the page is still listening when the push comes.
    settings.COMPOSE_EVENT_POLL_S = 10 * WAIT_S
    run = await database_sync_to_async(make_run)(workspace, alice)
    cookie = await database_sync_to_async(session_cookie)(alice)
    comm = communicator(run.pk, cookie)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=WAIT_S)  # the run header

    code = (
        "import django; django.setup(); "
        "from compose import events as ev; from training.actions import record_event; "
        "from training.models import Run; "
        f"record_event(Run.objects.get(pk={run.pk}), ev.log('load', 'from the worker host'))"
    )
    proc = await database_sync_to_async(subprocess.run)(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(DJANGO_SETTINGS_MODULE="compose_web.settings"),
    )
    assert proc.returncode == 0, proc.stderr
    try:
        got = await receive_until(comm, lambda m: m["type"] == "event", timeout=WAIT_S)
    except TimeoutError:  # the sender logs a failed push instead of raising
        pytest.fail(f"no push reached the page in {WAIT_S} s; the sending process said:\n{proc.stderr}")
    assert got[-1]["event"]["message"] == "from the worker host"
    await comm.disconnect()


@pytest.mark.asyncio
async def test_an_idle_page_stays_connected_on_redis_and_still_gets_pushes(workspace, alice, settings):
    # The channel layer waits for messages in a blocking Redis read; a socket timeout
    # shorter than that read closed every idle page after a few seconds.
    settings.COMPOSE_EVENT_POLL_S = 10 * WAIT_S  # only a Redis push can bring the event
    run = await database_sync_to_async(make_run)(workspace, alice)
    cookie = await database_sync_to_async(session_cookie)(alice)
    comm = communicator(run.pk, cookie)
    assert (await comm.connect())[0]
    await comm.receive_json_from(timeout=WAIT_S)  # the run header

    await asyncio.sleep(60)  # nothing happens on the run: the page is idle
    assert not comm.future.done(), f"the consumer stopped: {comm.future.exception()!r}"

    def push() -> None:
        from compose import events as ev
        from training.actions import record_event

        record_event(run, ev.log("load", "after a quiet minute"))

    await database_sync_to_async(push)()
    got = await receive_until(comm, lambda m: m["type"] == "event", timeout=WAIT_S)
    assert got[-1]["event"]["message"] == "after a quiet minute"
    await comm.disconnect()


@pytest.mark.slow
def test_a_run_queued_on_redis_is_executed_by_a_separate_worker(workspace, alice, _huey_immediate):
    import json

    from training.actions import create_document, enqueue_run

    data = workspace.root / "data"
    data.mkdir(parents=True)
    (data / "rows.jsonl").write_text("".join(json.dumps({"text": f"r{i}"}) + "\n" for i in range(4)))
    _huey_immediate.immediate = False  # really queue it on Redis
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_huey", "--workers", "1", "--no-periodic"],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        document = create_document(workspace, alice, "tiny", TINY_DOCUMENT)
        run = enqueue_run(document, "load-rows", {}, alice)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.is_final:
                break
            time.sleep(0.5)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.worker and run.worker.endswith(f":{worker.pid}")
        assert run.job_runs.get().output["num_rows"] == 4
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_wrong_api_tokens_are_counted_across_web_processes(client, _own_cache):
    """The count lives in Redis: wrong tokens tried through another web process count here."""
    from training.api.core import BAD_TOKEN_LIMIT

    code = (
        "import django; django.setup(); from django.core.cache import cache; "
        f"cache.set('api-bad-token:127.0.0.1', {BAD_TOKEN_LIMIT}, 60)"
    )
    env = child_env(DJANGO_SETTINGS_MODULE="compose_web.settings", CACHE_PREFIX=_own_cache)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT, timeout=WAIT_S)
    answer = client.get("/api/v1/workspaces", HTTP_AUTHORIZATION="Bearer cwt_wrong")
    assert answer.status_code == 429
    assert answer.json()["errors"][0]["message"]
