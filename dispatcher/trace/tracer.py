"""A run's tracer: stamps events with run and span ids and hands them to the sinks."""

from __future__ import annotations

import contextvars
import itertools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from dispatcher.trace._lines import event_line, validating
from dispatcher.trace._records import EventRecord, pack, unpack
from dispatcher.trace.events import EventBase
from dispatcher.trace.sink import JsonlTraceSink, TraceSink

__all__ = ["Tracer", "current_tracer", "use_tracer"]

E = TypeVar("E", bound=EventBase)

_CURRENT: contextvars.ContextVar[tuple[Tracer, str | None] | None] = contextvars.ContextVar(
    "dispatcher_current_tracer", default=None
)


_second: tuple[int, str] = (-1, "")


def _now() -> str:
    """The time as ISO 8601 UTC with microseconds (the date part is formatted once a second)."""
    global _second
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    if _second[0] != seconds:
        _second = (seconds, datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{nanos // 1000:06d}+00:00"


class Tracer:
    """Creates events for one run. Span ids are a per-run counter, so replays are deterministic."""

    def __init__(
        self, run_id: str, sinks: Sequence[TraceSink], *, trace_path: Path | None = None
    ) -> None:
        """`trace_path` is the JSONL file one of `sinks` writes: events are then read back from
        it when asked for, not kept in memory (a long run's trace grows with every step)."""
        self.run_id = run_id
        self.sinks = list(sinks)
        self.trace_path = trace_path
        # Without a file, events are kept as compact records, rebuilt on first access.
        self._events: list[EventBase] = []
        self._pending: list[EventRecord] = []
        # Lines written to a JSONL sink that is not this run's own file (a gateway's shared
        # file): reading them back would mean searching that file, so they are kept.
        self._lines: list[bytes] = []
        self._spans = itertools.count(1)
        # The common case, a run traced to a JSONL file and nowhere else, skips event objects.
        only = self.sinks[0] if len(self.sinks) == 1 else None
        self._line_sink = only if isinstance(only, JsonlTraceSink) else None
        self._validate = validating()

    @property
    def events(self) -> list[EventBase]:
        """Every event emitted so far, in order."""
        if self.trace_path is not None:
            from dispatcher.trace.reader import read_trace

            try:
                return list(read_trace(self.trace_path))
            except OSError:  # the file was removed: the run's outcome matters more than this
                return []
        if self._lines:
            from dispatcher.trace.events import event_adapter

            adapter = event_adapter()
            self._events.extend(adapter.validate_json(line) for line in self._lines)
            self._lines.clear()
        if self._pending:
            self._events.extend(unpack(record) for record in self._pending)
            self._pending.clear()
        return self._events

    def new_span(self) -> str:
        return f"s{next(self._spans)}"

    def emit(
        self,
        event_type: type[E],
        *,
        parent_id: str | None = None,
        span_id: str | None = None,
        **fields: Any,
    ) -> None:
        """Build, record and write one event."""
        fields["run_id"] = self.run_id
        fields["ts"] = _now()
        fields["span_id"] = span_id or self.new_span()
        fields["parent_id"] = parent_id
        line_sink = self._line_sink
        if line_sink is not None:
            if self._validate:
                event_type(**fields)
            line = event_line(event_type, fields)
            line_sink.write_line(line)
            if self.trace_path is None:
                self._lines.append(line)
            return
        event = event_type(**fields)
        if self.trace_path is None:
            self._pending.append(pack(event))
        for sink in self.sinks:
            sink.write(event)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def current_tracer() -> tuple[Tracer, str | None] | None:
    """The tracer of the run in progress and its current parent span, if any."""
    return _CURRENT.get()


@contextmanager
def use_tracer(tracer: Tracer, parent_id: str | None) -> Iterator[None]:
    """Make `tracer` current so layers below the worker (retries) can record events."""
    token = _CURRENT.set((tracer, parent_id))
    try:
        yield
    finally:
        _CURRENT.reset(token)
