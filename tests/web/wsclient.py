"""Open the run websocket through the real ASGI stack with a logged-in session."""

from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.test import Client


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(run_id: int, cookie: bytes | None = None, after: int | None = None) -> WebsocketCommunicator:
    from compose_web.asgi import application

    path = f"/ws/runs/{run_id}/" + (f"?after={after}" if after is not None else "")
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_until(comm: WebsocketCommunicator, predicate, timeout: float = 5.0) -> list[dict]:
    """Messages up to and including the first one ``predicate`` accepts."""
    got = []
    while True:
        message = await comm.receive_json_from(timeout=timeout)
        got.append(message)
        if predicate(message):
            return got
