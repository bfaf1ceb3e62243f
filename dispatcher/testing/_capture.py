"""Capture the trace events of runs in memory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dispatcher.trace import sink as _sink
from dispatcher.trace.sink import MemoryTraceSink

__all__ = ["capture_events"]


@contextmanager
def capture_events() -> Iterator[MemoryTraceSink]:
    """Every event of every run started inside the block is also appended to the yielded sink."""
    memory = MemoryTraceSink()
    _sink.EXTRA_SINKS.append(memory)
    try:
        yield memory
    finally:
        _sink.EXTRA_SINKS.remove(memory)
