"""Read trace files back, validating every line against the event models."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from dispatcher._user_files import as_path
from dispatcher.errors import DataError
from dispatcher.trace._shared_files import (
    finished_at,
    run_ids_with_prefix,
    run_lines,
    runs_newest_first,
    shared_files,
)
from dispatcher.trace.events import Event, event_adapter
from dispatcher.trace.sink import default_runs_dir

__all__ = [
    "RunRef",
    "find_run",
    "list_run_refs",
    "list_runs",
    "locate_run",
    "read_run",
    "read_trace",
]


def read_trace(path: Path, *, tolerate_partial_last_line: bool = True) -> list[Event]:
    """Every event of a trace file; a bad line is a DataError naming it.

    A run killed mid-write leaves a last line without its newline, cut at any byte (also
    inside a multi-byte character): it is skipped, not fatal. Every complete line must be a
    valid event.
    """
    path = as_path(path, "trace path")
    adapter = event_adapter()
    events: list[Event] = []
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DataError(f"cannot read it: {exc.strerror or exc}", file=path) from None
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
    directory = as_path(runs_dir, "runs folder") if runs_dir else default_runs_dir()
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


# What a run id (or a prefix of one) may hold: the runner's own rule, any first character.
_RUN_ID_TEXT = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _check_run_text(run: str) -> None:
    """An empty run would match every run as a prefix, and one holding a quote could match
    the JSON around another run's id in a shared file: neither names a run."""
    if run != "latest" and not _RUN_ID_TEXT.fullmatch(run):
        raise DataError(
            f"{run!r} is not a run id, an id prefix, `latest`, or a .jsonl file that exists "
            "(run ids are 1 to 128 ASCII letters, digits, '-', '_' and '.')"
        )


def find_run(run: str, runs_dir: Path | None = None) -> Path:
    """A run by file path, full id, unique id prefix, or `latest`."""
    candidate = Path(run)
    if candidate.suffix == ".jsonl" and candidate.is_file():
        return candidate
    _check_run_text(run)
    runs_dir = as_path(runs_dir, "runs folder") if runs_dir else None
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


@dataclass(frozen=True)
class RunRef:
    """Where one run's events are: a file of its own, or a shared file (a gateway process's
    `<runs dir>/gateway/*.jsonl`) that holds other runs' events too."""

    run_id: str
    path: Path
    shared: bool = False
    # A shared run's lines when the listing already read them (saves a second search).
    lines: tuple[bytes, ...] | None = field(default=None, compare=False, repr=False)


def read_run(ref: RunRef) -> list[Event]:
    """The events of one run (only this run's, from a shared file)."""
    if not ref.shared:
        return _one_run(read_trace(ref.path), ref.path)
    numbered: list[tuple[int | None, bytes]]
    if ref.lines is not None:
        numbered = [(None, line) for line in ref.lines]
    else:
        try:
            found = run_lines(ref.path, ref.run_id)
        except OSError as exc:
            raise DataError(f"cannot read it: {exc.strerror or exc}", file=ref.path) from None
        numbered = [(offset, line) for offset, line in found]
    adapter = event_adapter()
    events: list[Event] = []
    for offset, raw in numbered:
        try:
            event = adapter.validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            at = f" at byte {offset}" if offset is not None else ""
            raise DataError(
                f"run {ref.run_id}: not a valid trace event{at} ({where}: {first['msg']})",
                file=ref.path,
            ) from None
        if event.run_id == ref.run_id:
            events.append(event)
    return events


def _one_run(events: list[Event], path: Path) -> list[Event]:
    """A run's own file holds one run; a gateway's shared file, passed as a path, many."""
    started = list(dict.fromkeys(e.run_id for e in events if e.kind == "run_started"))
    if len(started) > 1:
        shown = ", ".join(started[:3]) + (", ..." if len(started) > 3 else "")
        raise DataError(
            f"holds {len(started)} runs ({shown}), as a gateway's shared trace file does: "
            "pass one run id instead of the file, with --runs-dir the folder above gateway/",
            file=path,
        )
    return events


def list_run_refs(runs_dir: Path | None = None, limit: int | None = None) -> list[RunRef]:
    """Runs newest first (by their last write): files of their own and runs in shared files."""
    directory = as_path(runs_dir, "runs folder") if runs_dir else default_runs_dir()
    dated: list[tuple[float, RunRef]] = []
    own = list_runs(directory)
    for path in own if limit is None else own[:limit]:
        try:
            dated.append((path.stat().st_mtime, RunRef(path.stem, path)))
        except OSError:
            continue
    for path in shared_files(directory):
        try:
            runs = runs_newest_first(path, limit)
        except OSError:
            continue
        for run_id, lines in runs:
            ref = RunRef(run_id, path, shared=True, lines=tuple(lines))
            dated.append((finished_at(lines), ref))
    dated.sort(key=lambda item: item[0], reverse=True)
    refs = [ref for _, ref in dated]
    return refs if limit is None else refs[:limit]


def locate_run(run: str, runs_dir: Path | None = None) -> RunRef:
    """A run by file path, full id, unique id prefix, or `latest`, wherever its events are:
    its own `<run id>.jsonl`, or a gateway's shared file (`x-dispatcher-run-id` finds both)."""
    candidate = Path(run)
    if candidate.suffix == ".jsonl" and candidate.is_file():
        return RunRef(candidate.stem, candidate)
    _check_run_text(run)
    directory = as_path(runs_dir, "runs folder") if runs_dir else default_runs_dir()
    if run == "latest":
        newest = list_run_refs(directory, limit=1)
        if newest:
            return newest[0]
    own = list_runs(directory)
    exact = [p for p in own if p.stem == run]
    if exact:
        return RunRef(run, exact[0])
    shared = shared_files(directory)
    for path in shared:
        if run_lines(path, run):
            return RunRef(run, path, shared=True)
    matches = [RunRef(p.stem, p) for p in own if p.stem.startswith(run)]
    if run:
        for path in shared:
            found = sorted(run_ids_with_prefix(path, run))
            matches += [RunRef(run_id, path, shared=True) for run_id in found]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise DataError(
            f"no run {run!r} in {directory} (see `dispatcher trace ls`, "
            "or pass --runs-dir / a .jsonl path)"
        )
    names = ", ".join(m.run_id for m in matches[:5])
    raise DataError(f"run id prefix {run!r} is ambiguous: {names}")
