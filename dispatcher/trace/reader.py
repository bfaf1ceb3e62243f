"""Read trace files back, validating every line against the event models."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from dispatcher.errors import DataError
from dispatcher.trace.events import Event, event_adapter
from dispatcher.trace.sink import default_runs_dir

__all__ = ["find_run", "list_runs", "read_trace"]


def read_trace(path: Path, *, tolerate_partial_last_line: bool = True) -> list[Event]:
    """Every event of a trace file; a bad line is a DataError naming it.

    A run killed mid-write leaves a last line without its newline, cut at any byte (also
    inside a multi-byte character): it is skipped, not fatal. Every complete line must be a
    valid event.
    """
    adapter = event_adapter()
    events: list[Event] = []
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DataError(f"cannot read the trace: {exc.strerror or exc}", file=path) from None
    lines = data.split(b"\n")
    # After the last newline: empty for a complete file, else a line the writer never finished.
    unfinished = lines.pop()
    numbered = list(enumerate(lines, start=1))
    if unfinished.strip():
        numbered.append((len(lines) + 1, unfinished))
    for number, raw in numbered:
        if not raw.strip():
            continue
        torn = tolerate_partial_last_line and raw is unfinished
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if torn:
                break
            raise DataError(
                f"not valid UTF-8 at byte {exc.start} of the line", file=path, line=number
            ) from None
        try:
            events.append(adapter.validate_json(line))
        except ValidationError as exc:
            if torn and _is_truncated_json(line):
                break
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise DataError(
                f"not a valid trace event ({where}: {first['msg']})", file=path, line=number
            ) from None
    return events


def _is_truncated_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return True
    return False


def list_runs(runs_dir: Path | None = None) -> list[Path]:
    """Trace files, newest first; entries that are not readable files are left out."""
    directory = runs_dir or default_runs_dir()
    if not directory.is_dir():
        return []
    found: list[tuple[float, Path]] = []
    for path in directory.glob("*.jsonl"):
        try:
            info = path.stat()
        except OSError:
            continue  # a dangling link, or a file removed meanwhile
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime, path))
    found.sort(key=lambda item: item[0], reverse=True)
    return [path for _, path in found]


def find_run(run: str, runs_dir: Path | None = None) -> Path:
    """A run by file path, full id, unique id prefix, or `latest`."""
    candidate = Path(run)
    if candidate.suffix == ".jsonl" and candidate.is_file():
        return candidate
    runs = list_runs(runs_dir)
    if run == "latest" and runs:
        return runs[0]
    matches = [p for p in runs if p.stem == run] or [p for p in runs if p.stem.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    directory = runs_dir or default_runs_dir()
    if not matches:
        raise DataError(
            f"no run {run!r} in {directory} (see `dispatcher trace ls`, "
            "or pass --runs-dir / a .jsonl path)"
        )
    raise DataError(f"run id prefix {run!r} is ambiguous: {', '.join(p.stem for p in matches[:5])}")


def iter_events(paths: list[Path]) -> Iterator[tuple[Path, list[Event]]]:
    for path in paths:
        yield path, read_trace(path)
