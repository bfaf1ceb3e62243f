"""Where events go: a JSONL file per run (through structlog), memory, or several sinks at once."""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import structlog

from dispatcher.redaction import redact
from dispatcher.trace.events import Event, EventBase

__all__ = ["EXTRA_SINKS", "JsonlTraceSink", "MemoryTraceSink", "TraceSink", "default_runs_dir"]


class TraceSink(Protocol):
    """Receives every event of a run, in order."""

    def write(self, event: EventBase) -> None: ...

    def close(self) -> None: ...


# Sinks added to every new run (e.g. by `dispatcher.testing.capture_events`).
EXTRA_SINKS: list[TraceSink] = []


def default_runs_dir() -> Path:
    """`$DISPATCHER_RUNS_DIR`, else `.dispatcher/runs` under the working directory."""
    return Path(os.environ.get("DISPATCHER_RUNS_DIR") or ".dispatcher/runs")


def _render_event(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> str:
    """structlog processor: one event becomes one redacted JSON line."""
    event: EventBase = event_dict["event"]
    return redact(event.model_dump_json())


class JsonlTraceSink:
    """Appends one JSON line per event to a file and flushes it, so a killed run leaves a prefix."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("a", encoding="utf-8")
        # WriteLogger writes the rendered line plus "\n" and flushes after every call.
        self._logger = structlog.wrap_logger(
            structlog.WriteLogger(self._file),
            processors=[_render_event],
            cache_logger_on_first_use=True,
        )

    def write(self, event: EventBase) -> None:
        if not self._file.closed:
            self._logger.msg(event)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class MemoryTraceSink:
    """Keeps events in a list; used by tests and by `dispatcher.testing.capture_events`."""

    def __init__(self) -> None:
        self.events: list[EventBase] = []

    def write(self, event: EventBase) -> None:
        self.events.append(event)

    def close(self) -> None:
        return None

    def of_kind(self, kind: str) -> Sequence[Event]:
        return [e for e in self.events if getattr(e, "kind", None) == kind]  # type: ignore[misc]
