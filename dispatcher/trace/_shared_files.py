"""Runs inside shared trace files: a gateway process writes every relayed request's events to
one JSONL file, `<runs dir>/gateway/<start>-<pid>.jsonl`, each line carrying its run id.

Creating a file per request costs more CPU than relaying it, hence the shared file; these
helpers find one run in it again. A run is located by a byte search for `"run_id":"<id>"`:
JSON escapes every quote inside a string, so that marker can only be an event's own field
(the reader still checks the parsed event's run id). Listing the newest runs reads the file
backwards, a block at a time, and stops once it has enough.
"""

from __future__ import annotations

import mmap
import re
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

__all__ = [
    "SHARED_DIR",
    "finished_at",
    "run_ids_with_prefix",
    "run_lines",
    "runs_newest_first",
    "shared_files",
]

# The sub-folder of a runs folder that holds shared (per-process) trace files.
SHARED_DIR = "gateway"

_BLOCK = 1 << 20
_RUN_ID = re.compile(rb'"run_id":"([^"\\]*)"')
_TS = re.compile(rb'"ts":"([^"\\]*)"')
_STARTED = b'"kind":"run_started"'


def shared_files(runs_dir: Path) -> list[Path]:
    """The shared trace files under `runs_dir`, most recently written first."""
    folder = runs_dir / SHARED_DIR
    if not folder.is_dir():
        return []
    found: list[tuple[float, Path]] = []
    for path in folder.glob("*.jsonl"):
        try:
            info = path.stat()
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime, path))
    found.sort(key=lambda item: item[0], reverse=True)
    return [path for _, path in found]


def _mapped(path: Path) -> Iterator[mmap.mmap | bytes]:
    """The file's bytes without reading them all into memory (an empty file is b"")."""
    with path.open("rb") as file:
        if path.stat().st_size == 0:
            yield b""
            return
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def run_lines(path: Path, run_id: str) -> list[tuple[int, bytes]]:
    """The complete lines of `run_id` in the file, with their byte offsets, in file order."""
    marker = b'"run_id":"' + run_id.encode("utf-8") + b'"'
    lines: list[tuple[int, bytes]] = []
    for data in _mapped(path):
        position = data.find(marker)
        while position != -1:
            start = data.rfind(b"\n", 0, position) + 1
            end = data.find(b"\n", position)
            if end == -1:
                break  # the writer never finished this line (a crash mid-write)
            lines.append((start, bytes(data[start:end])))
            position = data.find(marker, end)
    return lines


def run_ids_with_prefix(path: Path, prefix: str) -> set[str]:
    """Every run id in the file that starts with `prefix`."""
    pattern = re.compile(rb'"run_id":"(' + re.escape(prefix.encode("utf-8")) + rb'[^"\\]*)"')
    found: set[str] = set()
    for data in _mapped(path):
        found.update(m.group(1).decode("utf-8", "replace") for m in pattern.finditer(data))
    return found


def runs_newest_first(path: Path, limit: int | None) -> list[tuple[str, list[bytes]]]:
    """Up to `limit` runs whose start is in the file, newest start first, each with its lines.

    Reads backwards: a run's lines all follow its `run_started`, so once that line is read,
    every line of the run has been.
    """
    lines_of: dict[str, list[bytes]] = {}
    order: list[str] = []
    with path.open("rb") as file:
        position = file.seek(0, 2)
        carry = b""
        in_tail = True  # after the file's last newline: nothing, or a line never finished
        while position > 0 and (limit is None or len(order) < limit):
            start = max(0, position - _BLOCK)
            file.seek(start)
            block = file.read(position - start) + carry
            position = start
            pieces = block.split(b"\n")
            if in_tail:
                pieces.pop()
                if not pieces:  # no newline yet: the whole block is in the unfinished line
                    carry = b""
                    continue
                in_tail = False
            # The first piece may be the end of a line that starts in the block before.
            carry = pieces.pop(0) if start > 0 else b""
            for line in reversed(pieces):
                found = _RUN_ID.search(line)
                if found is None:
                    continue
                run_id = found.group(1).decode("utf-8", "replace")
                lines_of.setdefault(run_id, []).append(line)
                if _STARTED in line and run_id not in order:
                    order.append(run_id)
                    if limit is not None and len(order) >= limit:
                        break
    chosen = order if limit is None else order[:limit]
    return [(run_id, lines_of[run_id][::-1]) for run_id in chosen]


def finished_at(lines: list[bytes]) -> float:
    """The time of a run's last line (seconds since the epoch), 0 if it cannot be read."""
    found = _TS.search(lines[-1]) if lines else None
    if found is None:
        return 0.0
    try:
        return datetime.fromisoformat(found.group(1).decode("ascii")).timestamp()
    except (ValueError, UnicodeDecodeError):
        return 0.0
