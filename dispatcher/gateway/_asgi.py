"""A response whose status and headers its producer decides while it runs, cancelled when the
client disconnects.

Streams need this: the route header is known only once the run has chosen a model, and an
upstream error before the first token should still be a real HTTP status, not an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dispatcher.gateway._errors import GatewayError

__all__ = ["ProducedResponse", "Reply"]

JSON = "application/json"
SSE = "text/event-stream"
# What a header value keeps as it is: printable ASCII but `%` (model and agent names are
# the registry's, and may hold anything, CR/LF included).
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def header_value(value: str) -> bytes:
    """`value` as a header value: printable ASCII, anything else percent-encoded (UTF-8)."""
    if value.isascii() and value.isprintable() and "%" not in value:
        return value.encode()
    return quote(value, safe=_HEADER_SAFE).encode()


class Reply:
    """The sending side: `start` once, then `write` body parts, then `finish`."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False
        self.finished = False
        self.streaming = False
        # The producer's headers (run id, route) once it has them, for an answer it cannot
        # give itself (the server stopping it).
        self.headers: Mapping[str, str] = {}

    async def start(self, status: int, headers: Mapping[str, str], content_type: str) -> None:
        raw = [(b"content-type", content_type.encode())]
        raw += [(name.encode(), header_value(value)) for name, value in headers.items()]
        if content_type == SSE:
            self.streaming = True
            raw += [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        self.started = True  # only once sent: a refused start can still be an error answer

    async def write(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def finish(self, data: bytes = b"") -> None:
        if not self.finished:
            self.finished = True
            await self._send({"type": "http.response.body", "body": data, "more_body": False})

    async def json(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        await self.start(status, {**headers, "content-length": str(len(body))}, JSON)
        await self.finish(body)

    async def error(self, error: GatewayError, headers: Mapping[str, str] = {}) -> None:
        """An error answer; on a stream already started, OpenAI's in-stream error event."""
        if not self.started:
            await self.json(error.status, error.json_bytes(), {**headers, **error.headers})
        elif not self.finished:
            await self.finish(b"data: " + error.json_bytes() + b"\n\n")


Producer = Callable[[Reply], Awaitable[None]]

_SHUTTING_DOWN = GatewayError(
    503, "the gateway is shutting down; send the request again", "server_error", "shutting_down"
)


class ProducedResponse(Response):
    """Runs `produce` with a `Reply`; a client disconnect cancels it (and the run inside)."""

    def __init__(self, produce: Producer) -> None:
        super().__init__()
        self._produce = produce

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reply = Reply(send)
        # A plain asyncio watcher task, not an anyio task group: uvicorn runs on asyncio, and
        # the group's cancel-scope machinery cost ~0.1 ms of CPU per request.
        this = asyncio.current_task()
        assert this is not None
        client_gone = False

        async def cancel_on_disconnect() -> None:
            nonlocal client_gone
            while (await receive())["type"] != "http.disconnect":
                pass
            if not reply.finished:  # after a complete answer, "disconnect" is just the end
                client_gone = True
                this.cancel()

        watcher = asyncio.get_running_loop().create_task(cancel_on_disconnect())
        try:
            await self._produce(reply)
        except asyncio.CancelledError:
            this.uncancel()  # our own cancellation (the client left), or the server's
            if not client_gone:
                # The server stopping with this request in flight: the run is cancelled (its
                # trace says so); the client hears why, in OpenAI's shape, if it still listens.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1):
                        await reply.error(_SHUTTING_DOWN, reply.headers)
        except Exception:
            # Producers answer their own errors; this is the last guard against a traceback.
            await reply.error(GatewayError(500, "internal error", "internal_error"))
        finally:
            watcher.cancel()
