"""Refuse a request body over COMPOSE_MAX_REQUEST_BYTES before reading any of it.

Django's ASGI handler reads the whole body into a temporary file before any view or
middleware runs, so a form's "larger than 1 MB" check only ever saw a 200 MB upload
after it had arrived. This wrapper answers 413 from the declared Content-Length
instead. Daphne buffers a body before even this wrapper runs; compose_web.serve
refuses there (and also caps chunked bodies, which declare no length).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


def too_large_message() -> bytes:
    mb = settings.COMPOSE_MAX_REQUEST_BYTES / 1_000_000
    return f"Request body too large: the limit is {mb:g} MB.\n".encode()


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = declared_length(scope.get("headers", []))
            if length is not None and length > settings.COMPOSE_MAX_REQUEST_BYTES:
                body = too_large_message()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
