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
    # The bytes of json.dumps([columns, [[cells...], ...]]), fed piece by piece so a large
    # result is never held twice.
    digest = hashlib.sha256()
    digest.update(f"[{json.dumps(list(columns), ensure_ascii=False)}, [".encode())
    for index, row in enumerate(rows):
        digest.update(b", [" if index else b"[")
        for position, value in enumerate(row):
            cell = json.dumps(format_cell(value), ensure_ascii=False)
            digest.update((", " + cell if position else cell).encode())
        digest.update(b"]")
    digest.update(b"]]")
    return digest.hexdigest()[:12]


def _clip(line: str, budget: int) -> str:
    """Cut `line` to at most `budget` UTF-8 bytes, marking the cut."""
    data = line.encode()
    if len(data) <= budget:
        return line
    marker = " [...]"
    return data[: max(budget - len(marker), 0)].decode(errors="ignore") + marker


def _row_line(row: Sequence[Any], budget: int) -> str:
    """The row as a TSV line, built only up to `budget` characters (the rest cannot show)."""
    parts: list[str] = []
    size = 0
    for value in row:
        if size > budget:
            parts.append("[...]")
            break
        cell = format_cell(value[: budget + 1] if isinstance(value, str) else value)
        parts.append(cell)
        size += len(cell) + 1
    return "\t".join(parts)


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
        line = _row_line(row, budget)
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
