"""The SQL functions the toolkit installs over SQLite's own, and why one refused a call.

Each replaces a built-in that runs inside one VM step, where the progress handler never runs,
and could outrun the time limit there: ``printf``/``format`` (bounded field widths) and
``instr``, ``replace``, ``trim``/``ltrim``/``rtrim`` (linear time). A refused call raises in
SQLite as "user-defined function raised exception"; `refusal` keeps the reason to show instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from dispatcher_tools.sql._printf import BoundedPrintf
from dispatcher_tools.sql._text_functions import LinearTextFunctions

__all__ = ["SafeFunctions"]


class SafeFunctions:
    """Install with `install(connection)`; `close()` after the connection is closed."""

    def __init__(self, max_length: int) -> None:
        self.refusal: str | None = None
        self._printf = BoundedPrintf(max_length)
        self._text = LinearTextFunctions(max_length)

    def install(self, connection: sqlite3.Connection) -> None:
        text = self._text
        functions: list[tuple[str, int, Callable[..., Any]]] = [
            ("printf", -1, self._printf),
            ("format", -1, self._printf),
            ("instr", 2, text.instr),
            ("replace", 3, text.replace),
            ("trim", 2, text.trim),  # one-argument trims (spaces) stay SQLite's: linear
            ("ltrim", 2, text.ltrim),
            ("rtrim", 2, text.rtrim),
        ]
        for name, arity, function in functions:
            connection.create_function(
                name, arity, self._recording(name, function), deterministic=True
            )

    def close(self) -> None:
        self._printf.close()
        self._text.close()

    def _recording(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                return function(*args)
            except ValueError as exc:
                self.refusal = str(exc)
                raise
            except Exception as exc:  # a failure of ours: say which function, not just "raised"
                self.refusal = f"{name}() failed: {type(exc).__name__}: {exc}"
                raise

        return call
