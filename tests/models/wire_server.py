"""A scripted HTTP server on 127.0.0.1 that answers with real provider wire bytes.

Replies are queued in order; every request is recorded (path, headers, JSON body). A reply
can stream chunks and then go quiet until the server is stopped, to provoke stream stalls.
An unscripted request gets a 599 error, so a test that sends too many requests fails loudly.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["RecordedRequest", "Reply", "WireServer", "running_wire_server"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a JSON body, or `chunks` written one by one (SSE)."""

    status: int = 200
    body: Any = None
    chunks: Sequence[bytes] = ()
    headers: dict[str, str] = field(default_factory=dict)
    stall_after: int | None = None  # stop writing after this many chunks, keep the socket open

    @classmethod
    def json(cls, body: Any, status: int = 200, **headers: str) -> Reply:
        return cls(status=status, body=body, headers=_header_names(headers))

    @classmethod
    def sse(
        cls, chunks: Sequence[bytes], *, stall_after: int | None = None, **headers: str
    ) -> Reply:
        return cls(chunks=chunks, stall_after=stall_after, headers=_header_names(headers))


def _header_names(headers: dict[str, str]) -> dict[str, str]:
    """Python keywords cannot hold dashes: request_id= becomes request-id."""
    return {name.replace("_", "-"): value for name, value in headers.items()}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class WireServer:
    """Serve queued replies on an ephemeral 127.0.0.1 port from a background thread."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()  # let stalled handlers finish
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next_reply(self, recorded: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if self._replies:
                return self._replies.popleft()
        return Reply.json({"error": {"type": "test_error", "message": "unscripted request"}}, 599)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: the body ends when the connection closes, as with a streaming proxy.
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                recorded = RecordedRequest(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
                self._answer(server._next_reply(recorded))

            def _answer(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks:
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("cache-control", "no-cache")
                    self.end_headers()
                    for number, chunk in enumerate(reply.chunks):
                        if reply.stall_after is not None and number >= reply.stall_after:
                            server._release.wait(timeout=30)
                            return
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    return
                payload = json.dumps(reply.body).encode()
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


@contextmanager
def running_wire_server() -> Iterator[WireServer]:
    server = WireServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
