"""Read a provider stream one chunk at a time, never waiting longer than an idle timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

import anyio

from dispatcher.errors import StreamStalledError

__all__ = ["next_chunk"]

T = TypeVar("T")


async def next_chunk(chunks: AsyncIterator[T], *, idle_timeout_s: float, model: str) -> T | None:
    """The next chunk, or None at the end of the stream (SDK stream events are never None).

    Raises StreamStalledError if nothing arrives within `idle_timeout_s`. The timeout covers
    each read separately: a long answer is fine as long as it keeps flowing.
    """
    chunk: T | None = None
    with anyio.move_on_after(idle_timeout_s) as scope:
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return None
    if scope.cancelled_caught:
        raise StreamStalledError(f"stream produced nothing for {idle_timeout_s:g} s", model=model)
    return chunk
