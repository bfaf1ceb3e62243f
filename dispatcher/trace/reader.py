"""Read trace files back, validating every line against the event models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from dispatcher.errors import DataError
from dispatcher.trace.events import Event, event_adapter
from dispatcher.trace.sink import default_runs_dir

__all__ = ["find_run", "list_runs", "read_trace"]


def read_trace(path: Path, *, tolerate_partial_last_line: bool = True) -> list[Event]:
    """Every event of a trace file; a bad line is a DataError naming it.

    A run killed mid-write may leave a truncated last line: it is skipped, not fatal.
    """
    adapter = event_adapter()
    events: list[Event] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(adapter.validate_json(line))
        except ValidationError as exc:
            is_last = number == len(lines)
            if is_last and tolerate_partial_last_line and _is_truncated_json(line):
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
    """Trace files, newest first."""
    directory = runs_dir or default_runs_dir()
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)


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
