"""`printf`/`format` with bounded widths and precisions, so no call outruns the time limit.

SQLite 3.40 repeats a ``%c`` precision one character at a time inside a single VM step, where
the progress handler never runs: ``printf('%.*c', 2000000000, 'x')`` spins for 8 s whatever the
limit. The replacement checks each conversion's width and precision (literal or taken from an
argument by ``*``) and hands the call to SQLite's own printf on a private in-memory database.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

__all__ = ["MAX_FIELD", "BoundedPrintf"]

MAX_FIELD = 100_000  # widest field a query may ask for; values are capped below 1 MB anyway
_CONVERSION = re.compile(r"%([-+ 0#,!]*)(\*|\d+)?(?:\.(\*|\d*))?(l{0,2})(.)", re.DOTALL)


class BoundedPrintf:
    """The SQL function; `close()` releases the in-memory database that does the formatting."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length  # the querying connection's SQLITE_LIMIT_LENGTH
        self._formatter: sqlite3.Connection | None = None  # opened by the first call

    def __call__(self, *args: Any) -> Any:
        if not args or not isinstance(args[0], str):
            return self._format(args)
        _check_fields(args[0], args[1:])
        return self._format(args)

    def _format(self, args: tuple[Any, ...]) -> Any:
        if self._formatter is None:
            self._formatter = sqlite3.connect(":memory:", isolation_level=None)
            self._formatter.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_length)
        marks = ", ".join("?" * len(args))
        return self._formatter.execute(f"SELECT printf({marks})", args).fetchone()[0]

    def close(self) -> None:
        if self._formatter is not None:
            self._formatter.close()


def _check_fields(template: str, values: tuple[Any, ...]) -> None:
    position = 0
    for match in _CONVERSION.finditer(template):
        _flags, width, precision, _size, kind = match.groups()
        if kind == "%":
            continue
        for field in (width, precision):
            if field == "*":
                value = values[position] if position < len(values) else 0
                position += 1
                number = abs(value) if isinstance(value, int) else 0
            else:
                number = int(field) if field else 0
            if number > MAX_FIELD:
                raise ValueError(
                    f"printf/format field widths and precisions are limited to {MAX_FIELD} "
                    f"characters; the query asked for {number}"
                )
        position += 1  # the value this conversion formats
