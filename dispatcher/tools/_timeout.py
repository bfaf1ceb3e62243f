"""A tool call's timeout that arms its timer only when the call actually waits.

``anyio.fail_after`` schedules a timer for every call, more than half the cost of running a
tiny tool. A timeout can only fire at an await point, so the call starts inside a plain
cancel scope (entered first, so scopes the tool opens nest inside it) and the deadline,
counted from the start, is set only if the call suspends. Sync tools and async tools that
never wait finish without a timer.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["await_with_timeout"]

T = TypeVar("T")


async def await_with_timeout(coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Await `coro`; raise TimeoutError if it is still waiting `timeout_s` after the start."""
    started = time.perf_counter()  # cheaper than asking the event loop for its clock
    with anyio.CancelScope() as scope:
        try:
            signal = coro.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        scope.deadline = anyio.current_time() + timeout_s - (time.perf_counter() - started)
        return await _Resumed(coro, signal)
    # Only reached when the deadline cancelled the call (nothing else knows this scope).
    raise TimeoutError


class _Resumed(Generic[T]):
    """Awaiting this continues a coroutine that already yielded `signal` to the event loop.

    It forwards what the loop sends or throws (results, cancellation) exactly as ``await``
    would, so the coroutine cannot tell its first step ran before the deadline was set.
    """

    __slots__ = ("_coro", "_signal")

    def __init__(self, coro: Coroutine[Any, Any, T], signal: Any) -> None:
        self._coro = coro
        self._signal = signal

    def __await__(self) -> Generator[Any, Any, T]:
        coro, signal = self._coro, self._signal
        while True:
            try:
                sent = yield signal
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation and anything else the loop throws in
                try:
                    signal = coro.throw(exc)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
            else:
                try:
                    signal = coro.send(sent)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
