"""A run as a stream: its trace events as they happen, then its answer as text.

`Dispatcher.stream(task)` returns a `RunStream`. The run goes on in a task of its own; a sink
on the run's tracer hands every event to the consumer. Leaving the `async with` block early
cancels the run, whose trace then ends with `run_finished` status `cancelled`.

With `model_text=True`, the text models write while the run works also arrives, as they write
it (`ModelTextDelta`): work in progress, not the answer. The answer is only known once the
run has checked it (a worker's turn may still call a tool, a review or gate may send it back),
so it still comes last, whole, as a `TextDelta`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from dispatcher.errors import ConfigError
from dispatcher.models._text_deltas import text_listener, writing_agent
from dispatcher.redaction import redact
from dispatcher.runner import RunResult
from dispatcher.trace.events import EventBase
from dispatcher.trace.sink import TraceSink

__all__ = ["ModelTextDelta", "RunStream", "StreamItem", "TextDelta"]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the run's answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class ModelTextDelta:
    """Text a model (`model`, the provider's model id) is writing, as it arrives: work in
    progress, which may or may not end up in the answer. `agent` is whose call it is (the
    trace's agent name, e.g. `dispatcher`, `sales`, `sales-overwatch`) when the adapter knows."""

    model: str
    text: str
    agent: str | None = None


StreamItem = TextDelta | ModelTextDelta | EventBase
# The run itself, given the extra sinks it must write its events to.
RunWork = Callable[[Sequence[TraceSink]], Awaitable[RunResult]]


class _ForwardingSink:
    """Hands each event to the stream's consumer; never blocks the run (unbounded buffer)."""

    def __init__(self, send: MemoryObjectSendStream[StreamItem]) -> None:
        self._send = send

    def write(self, event: EventBase) -> None:
        # A consumer that has gone is cancelling the run: its last events go to the file only.
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait(event)

    def close(self) -> None:
        return None


class _CallText:
    """One model call's text for the consumer, whole words at a time, redacted.

    Text is held back to its last whitespace, so a secret the model repeats (a key, a
    registered value) is never cut in two deltas that redaction would each let through.
    """

    def __init__(
        self, model: str, send: MemoryObjectSendStream[StreamItem], agent: str | None = None
    ) -> None:
        self._model = model
        self._agent = agent
        self._send = send
        self._held = ""

    def write(self, text: str) -> None:
        held = self._held + text
        cut = max(held.rfind(" "), held.rfind("\n"), held.rfind("\t")) + 1
        if cut:
            self._forward(held[:cut])
            held = held[cut:]
        self._held = held

    def end(self) -> None:
        if self._held:
            self._forward(self._held)
            self._held = ""

    def _forward(self, text: str) -> None:
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait(ModelTextDelta(self._model, redact(text), self._agent))


class RunStream:
    """Use as `async with dispatcher.stream(task) as events: async for item in events: ...`.

    Items are trace events (`EventBase`), `TextDelta`s (the answer) and, when asked for,
    `ModelTextDelta`s (what models write as they write it). After the last item, `result`
    holds the `RunResult`; a failed run raises its error from the iteration instead.
    """

    def __init__(self, work: RunWork, *, model_text: bool = False) -> None:
        """`model_text`: also yield `ModelTextDelta`s (model calls are then streamed)."""
        self._work = work
        self._model_text = model_text
        self._group: TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[StreamItem] | None = None
        self._error: BaseException | None = None
        self._entered = False
        self._closed = False
        self.result: RunResult | None = None

    async def __aenter__(self) -> RunStream:
        if self._entered:
            # One stream is one run: entering again would run the task a second time.
            raise ConfigError(
                "a run stream runs its task once; this one was already entered",
                fix="call dispatcher.stream(task) again for a new run",
            )
        self._entered = True
        send, self._receive = anyio.create_memory_object_stream[StreamItem](math.inf)
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._drive, send)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        assert self._group is not None and self._receive is not None
        # A consumer that stops early cancels the run; a finished run is not affected.
        self._group.cancel_scope.cancel()
        self._receive.close()
        self._closed = True
        # The run task keeps its errors for the consumer, so the group has none of its own:
        # the consumer's exception, if any, propagates as itself, not inside a group.
        await self._group.__aexit__(None, None, None)
        return None

    async def _drive(self, send: MemoryObjectSendStream[StreamItem]) -> None:
        with send:
            listener = (
                text_listener(lambda model: _CallText(model, send, writing_agent()))
                if self._model_text
                else contextlib.nullcontext()
            )
            try:
                with listener:
                    self.result = await self._work([_ForwardingSink(send)])
            except Exception as exc:
                self._error = exc  # raised to the consumer after the events it produced
                return
            if self.result.answer:
                await send.send(TextDelta(self.result.answer))

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> StreamItem:
        if self._receive is None:
            raise ConfigError(
                "a run stream is read inside `async with`",
                fix="write `async with dispatcher.stream(task) as events: async for e in events`",
            )
        if self._closed:
            raise ConfigError(
                "a run stream is read inside `async with`; its block has ended (the run is over "
                "or was cancelled there)",
                fix="read the items inside the block, or use `result` after it",
            )
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None
