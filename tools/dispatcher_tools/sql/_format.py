"""Query results as compact text a small model reads well: a TSV header, rows, a footer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["format_cell", "format_table", "rows_hash"]

_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def format_cell(value: Any) -> str:
    """One value as TSV-safe text; floats lose binary noise (5.970000000000001 -> 5.97)."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"<blob {len(value)} bytes>"
    if isinstance(value, float):
        return repr(round(value, 10))
    return str(value).translate(_ESCAPES)


def rows_hash(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A short stable digest of a result, so detectors can see "the same answer again"."""
    payload = json.dumps(
        [list(columns), [[format_cell(v) for v in row] for row in rows]], ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _clip(line: str, budget: int) -> str:
    """Cut `line` to at most `budget` UTF-8 bytes, marking the cut."""
    data = line.encode()
    if len(data) <= budget:
        return line
    marker = " [...]"
    return data[: max(budget - len(marker), 0)].decode(errors="ignore") + marker


def format_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    max_bytes: int,
    more_rows: bool = False,
) -> tuple[str, int]:
    """Render a header and rows within `max_bytes`; returns the text and how many rows it shows.

    `more_rows` says the query produced more rows than `rows` holds (the LIMIT clamp hit).
    """
    footer_reserve = 200  # room for the footer line, so the total stays within max_bytes
    budget = max(max_bytes - footer_reserve, 64)
    lines = [_clip("\t".join(c.translate(_ESCAPES) for c in columns), budget)]
    used = len(lines[0].encode()) + 1
    shown = 0
    for row in rows:
        line = "\t".join(format_cell(v) for v in row)
        size = len(line.encode()) + 1
        if used + size > budget:
            if shown == 0:
                lines.append(_clip(line, budget - used))
                shown = 1
            break
        lines.append(line)
        used += size
        shown += 1
    if shown < len(rows) or more_rows:
        lines.append(
            f"({shown} rows shown; the result has {'more than ' if more_rows else ''}"
            f"{len(rows)} rows and was truncated. Aggregate, filter with WHERE, or add a LIMIT.)"
        )
    else:
        lines.append(f"({shown} row{'' if shown == 1 else 's'})")
    return "\n".join(lines), shown
