"""Queued httpx2 responses for the real SDK clients, with every request recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import httpx2


class MockWire:
    """An httpx2.MockTransport that answers from a queue; an unexpected request fails the test."""

    def __init__(self, *responses: httpx2.Response | Exception) -> None:
        self.requests: list[httpx2.Request] = []
        self._responses = list(responses)

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self._handle))

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if not self._responses:
            raise AssertionError(f"unexpected request #{len(self.requests)} to {request.url}")
        outcome = self._responses.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def json_response(body: Any, status: int = 200, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=_names(headers))


def sse_response(chunks: Sequence[bytes], **headers: str) -> httpx2.Response:
    return httpx2.Response(
        200,
        content=b"".join(chunks),
        headers={"content-type": "text/event-stream", **_names(headers)},
    )


def stalling_sse_response(first: bytes, **headers: str) -> httpx2.Response:
    """Sends `first`, then nothing ever again (until the client gives up and closes)."""

    async def body() -> AsyncIterator[bytes]:
        yield first
        await anyio.Event().wait()

    return httpx2.Response(
        200, content=body(), headers={"content-type": "text/event-stream", **_names(headers)}
    )


def _names(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in headers.items()}
