"""Where events go: a JSONL file per run (through structlog), memory, or several sinks at once."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic_core import PydanticSerializationError, to_json

from dispatcher.redaction import redact
from dispatcher.trace._lines import json_safe, plain
from dispatcher.trace.events import Event, EventBase

if TYPE_CHECKING:
    from structlog import BytesLogger

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


def _render_event(event: EventBase) -> bytes:
    """One event becomes one redacted JSON line."""
    try:
        text = event.model_dump_json(fallback=plain)
    except PydanticSerializationError:  # bytes that are not UTF-8 in a free-form field
        text = to_json(json_safe(event)).decode("utf-8")
    return redact(text).encode("utf-8")


class _AppendFile(io.FileIO):
    """An unbuffered append-only file: one system call per line, and no buffer to keep.

    A buffered file holds 8 KB per open trace (a lot with 10,000 runs live) and needs a second
    call to flush; here every line is on disk (in the page cache) once `write` returns.
    """

    def write(self, data: Any) -> int:
        # A raw write may stop short; a trace line must land whole.
        view = memoryview(data)
        size = len(view)
        while view:
            written = super().write(view)
            if not written:
                raise OSError(f"the trace file {self.name!r} accepted no bytes")
            view = view[written:]
        return size


def _bytes_logger(file: _AppendFile) -> BytesLogger:
    # Imported on first use: structlog loads rich and asyncio, a tenth of a second that
    # `import dispatcher` (and a CLI command that writes no trace) should not pay.
    import structlog

    return structlog.BytesLogger(file)


class JsonlTraceSink:
    """Appends one JSON line per event to a file as it happens, so a killed run leaves a prefix.

    structlog's `BytesLogger` writes each rendered line (under its per-file lock). Its
    processor chain is not used: its only step would be the rendering, and the bound-logger
    machinery around it cost about 10 µs per event, more than the write itself.
    """

    def __init__(self, path: Path, *, exclusive: bool = False) -> None:
        """Open `path` for appending; with `exclusive`, FileExistsError if it already exists
        (a run's own file: two runs never share one)."""
        self.path = path
        mode = "x" if exclusive else "a"
        try:
            self._file = _AppendFile(path, mode)
        except FileNotFoundError:
            # The folder is created on first need only: asking every run costs an exception.
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = _AppendFile(path, mode)
        self._logger: BytesLogger = _bytes_logger(self._file)

    def write(self, event: EventBase) -> None:
        if not self._file.closed:
            self._logger.msg(_render_event(event))

    def write_line(self, line: bytes) -> None:
        """Write an event already serialized to JSON (see `trace._lines`), redacted here."""
        if not self._file.closed:
            self._logger.msg(redact(line.decode("utf-8")).encode("utf-8"))

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
