"""A request body over COMPOSE_MAX_REQUEST_BYTES is refused with 413 before it is read."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
HEADERS = b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
TWO_HUNDRED_MB = 200 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[int]:
    """``python -m compose_web.serve`` on a free port: the command the docs and dev.sh run."""
    var = tmp_path_factory.mktemp("serve") / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(COMPOSE_VAR_DIR=str(var), SECRET_KEY="limits-test", DEBUG="0", PYTHONUNBUFFERED="1")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "compose_web.serve", "-b", "127.0.0.1", "-p", str(port), "compose_web.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen within 30 s"
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def exchange(port: int, head: bytes, body: list[bytes] = ()) -> tuple[bytes, float]:
    """Send ``head`` and the ``body`` pieces, then read the answer; (answer, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        for piece in body:
            sock.sendall(piece)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer, time.monotonic() - started


def test_a_large_declared_body_is_refused_at_once_without_sending_it(server):
    # Only the headers go out: a server waiting for the 200 MB would time out the read.
    answer, seconds = exchange(server, HEADERS + b"Content-Length: %d\r\n\r\n" % TWO_HUNDRED_MB)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"the limit is 2.5 MB" in answer and seconds < 3


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(server):
    megabyte = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
    answer, _ = exchange(server, HEADERS + b"Transfer-Encoding: chunked\r\n\r\n", [megabyte] * 3)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_small_body_still_reaches_the_application(server):
    answer, _ = exchange(server, HEADERS + b"Content-Length: 3\r\nConnection: close\r\n\r\na=b")
    assert answer.startswith(b"HTTP/1.1 403 ")  # Django's CSRF check answered: the request got through
    assert b"Content-Security-Policy" in answer


def test_the_asgi_application_refuses_from_the_declared_length_alone(settings):
    from compose_web.asgi import application

    sent: list[dict] = []

    async def receive() -> dict:
        raise AssertionError("the body was read")

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/accounts/login/",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"content-length", str(TWO_HUNDRED_MB).encode())],
    }
    asyncio.run(application(scope, receive, send))
    assert sent[0]["status"] == 413 and b"too large" in sent[1]["body"]


def test_django_caps_form_fields_at_the_same_limit(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.COMPOSE_MAX_REQUEST_BYTES == 2_500_000
