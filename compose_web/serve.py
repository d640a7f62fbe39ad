"""``python -m compose_web.serve [daphne's arguments]``: daphne, refusing an oversized
request body before reading it.

Twisted, under daphne, receives a whole request body (into memory, then a temporary
file) before the application hears of the request: a 200 MB POST is read in full to be
refused. This request class answers 413 as soon as the headers declare more than
COMPOSE_MAX_REQUEST_BYTES, or a chunked body grows past it, and drops the connection.
"""

from __future__ import annotations

import os
import sys

from daphne import http_protocol
from daphne.cli import CommandLineInterface
from django.conf import settings

from compose_web.body_limit import too_large_message

# A client still sending gets this long to read the answer before the connection
# closes; closing at once would reset it, and browsers show a reset, not the 413.
LINGER_S = 2.0


class LimitedRequest(http_protocol.WebRequest):
    _refused = False
    _received = 0

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > settings.COMPOSE_MAX_REQUEST_BYTES:
            super().gotLength(0)  # an empty buffer, not a temporary file for the declared size
            self._refuse()
        else:
            super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > settings.COMPOSE_MAX_REQUEST_BYTES:
            self._refuse()
            return
        super().handleContentChunk(data)

    def process(self):
        if not self._refused:
            return super().process()

    def _refuse(self) -> None:
        self._refused = True
        body = too_large_message()
        channel = self.channel
        channel.transport.write(
            b"HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        channel.dataReceived = lambda data: None  # the rest is drained and dropped, never kept
        half_close = getattr(channel.transport, "loseWriteConnection", None)
        if half_close is not None:
            from twisted.internet import reactor  # daphne installs its asyncio reactor first

            half_close()
            # twisted types the reactor as its interface, whose methods declare no self
            reactor.callLater(LINGER_S, channel.transport.loseConnection)  # type: ignore[arg-type]
        else:
            channel.transport.loseConnection()


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compose_web.settings")
    # daphne's HTTPFactory makes every request from this module-level name.
    http_protocol.WebRequest = LimitedRequest
    CommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
