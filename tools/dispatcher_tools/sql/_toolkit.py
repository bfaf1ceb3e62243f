"""`SqlToolkit`: list tables, describe a table and run one read-only query on a SQLite file.

Every call opens its own read-only connection (``mode=ro`` URI) in a worker thread, so the
toolkit is safe to share between concurrent runs and never blocks the event loop. A progress
handler enforces the per-query time limit and stops a cancelled call within ~1000 VM steps.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from dispatcher.errors import ConfigError
from dispatcher.tools.tool import Tool, ToolOutput
from dispatcher_tools._arguments import checked_number, checked_path
from dispatcher_tools.sql._format import format_table, rows_hash
from dispatcher_tools.sql._functions import SafeFunctions
from dispatcher_tools.sql._guard import (
    METADATA_PRAGMAS,
    OTHER_STATEMENT_KEYWORDS,
    Authorizer,
    GuardError,
    classify_error,
    leading_keyword,
    single_statement,
)

__all__ = ["QueryResult", "SqlToolkit"]

_T = TypeVar("_T")
_MAX_LIKE_PATTERN = 200
_PROGRESS_STEPS = 1000  # VM instructions between deadline checks: ~microseconds apart
_HINTS = {
    "syntax": "Check keywords, commas, parentheses and quotes (SQLite dialect).",
    # Hints name tools as the model sees them (wire names): a dotted name is not callable.
    "unknown_column": "Call sql_describe_table to see the exact column names of a table.",
    "timeout": "Simplify the query: filter with WHERE, aggregate, and make recursive CTEs end.",
    "denied": "Only read-only queries are allowed: one SELECT (or WITH ... SELECT) statement.",
    "multiple_statements": "",
    "other": "",
}


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The outcome of one query: formatted rows, or a classified error message."""

    query: str
    text: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    truncated: bool = False
    error_class: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_class is None

    def to_output(self) -> ToolOutput:
        return ToolOutput(self.text, is_error=not self.ok, signals=self.signals)


class _Deadline:
    """Progress-handler callback: a non-zero return makes SQLite abort with "interrupted"."""

    def __init__(self, seconds: float, cancel: threading.Event | None) -> None:
        self.expires = time.monotonic() + seconds
        self.cancel = cancel
        self.hit = False

    def __call__(self) -> int:
        if time.monotonic() > self.expires or (self.cancel is not None and self.cancel.is_set()):
            self.hit = True
            return 1
        return 0


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class SqlToolkit:
    """Read-only SQL tools over one SQLite database file."""

    def __init__(
        self,
        database: str | Path,
        *,
        max_rows: int = 200,
        max_bytes: int = 64_000,
        time_limit_s: float = 2.0,
        sample_rows: bool = False,
    ) -> None:
        fix = "set `database` to an existing SQLite file, e.g. data/chinook.sqlite"
        path = checked_path(database, "database", fix)
        if not path.is_file():
            raise ConfigError(f"no SQLite file at {str(path)!r}", field="database", fix=fix)
        with path.open("rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                raise ConfigError(
                    f"{str(path)!r} is not a SQLite database", field="database", fix=fix
                )
        checked_number(max_rows, "max_rows", whole=True, low=1)
        checked_number(max_bytes, "max_bytes", whole=True, low=256)
        checked_number(time_limit_s, "time_limit_s", whole=False, low=0.001)
        if not isinstance(sample_rows, bool):
            raise ConfigError(
                f"must be true or false, got {sample_rows!r}",
                field="sample_rows",
                fix="sample_rows=True",
            )
        self.database = path.resolve()
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.time_limit_s = time_limit_s
        self.sample_rows = sample_rows
        self._uri = f"{self.database.as_uri()}?mode=ro"

    def tools(self) -> list[Tool]:
        """The three tools a SQL agent gets, named ``sql.*``."""
        timeout = self.time_limit_s + 10.0
        return [
            Tool.from_function(
                self.list_tables,
                name="sql.list_tables",
                description="List the tables and views of the database with their column names.",
                timeout_s=timeout,
            ),
            Tool.from_function(
                self.describe_table,
                name="sql.describe_table",
                description="Describe one table: its columns with types and keys, foreign keys "
                "and row count.",
                timeout_s=timeout,
            ),
            Tool.from_function(
                self.run_query,
                name="sql.run_query",
                description="Run ONE read-only SQLite query (SELECT, WITH ... SELECT or VALUES) "
                f"and get the rows as tab-separated text (at most {self.max_rows} rows).",
                timeout_s=timeout,
            ),
        ]

    # -- tools (async: the work runs in a thread) ------------------------------------------

    async def list_tables(self) -> ToolOutput:
        """List the tables and views with their column names."""
        return await self._in_thread(self._list_tables)

    async def describe_table(self, table: str) -> ToolOutput:
        """Describe one table or view.

        Args:
            table: Table or view name, as listed by sql_list_tables.
        """
        return await self._in_thread(lambda cancel: self._describe(table, cancel))

    async def run_query(self, query: str) -> ToolOutput:
        """Run one read-only query.

        Args:
            query: Exactly one SQLite SELECT statement.
        """
        result = await self._in_thread(lambda cancel: self.execute(query, cancel=cancel))
        return result.to_output()

    # -- sync API --------------------------------------------------------------------------

    def execute(self, query: str, *, cancel: threading.Event | None = None) -> QueryResult:
        """Check and run one query under the time limit and caps (blocking)."""
        try:
            statement = single_statement(query)
        except GuardError as exc:
            return self._error(query, exc.error_class, str(exc))
        keyword = leading_keyword(statement)
        if keyword in OTHER_STATEMENT_KEYWORDS:
            return self._error(
                query,
                "denied",
                f"{keyword} statements are not allowed; the database is read-only.",
            )
        authorizer = Authorizer()
        deadline = _Deadline(self.time_limit_s, cancel)
        functions = SafeFunctions(self._max_length)
        try:
            with self._connect(authorizer, deadline, functions) as conn:
                # EXPLAIN compiles without running: the authorizer and name resolution judge the
                # statement as written, before the LIMIT clamp wraps it.
                conn.execute(f"EXPLAIN {statement}").close()
                columns, rows, more = self._read_bounded(conn, statement)
        except sqlite3.Error as exc:
            error_class = classify_error(exc, timed_out=deadline.hit, denied=authorizer.denied)
            message = functions.refusal or self._describe_error(error_class, exc, authorizer.denied)
            return self._error(query, error_class, message)
        text, shown = format_table(columns, rows, max_bytes=self.max_bytes, more_rows=more)
        clipped = any(_size(value) > self.max_bytes for row in rows for value in row)
        truncated = more or shown < len(rows) or clipped
        return QueryResult(
            query=query,
            text=text,
            columns=columns,
            rows=tuple(rows),
            truncated=truncated,
            signals={
                "rows": len(rows),
                "rows_hash": rows_hash(columns, rows),
                "truncated": truncated,
            },
        )

    def table_names(self) -> list[tuple[str, str]]:
        """(name, "table" | "view") for every user table and view, sorted by name."""
        with self._connect(Authorizer(), _Deadline(self.time_limit_s, None)) as conn:
            rows = conn.execute(
                "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name COLLATE NOCASE"
            ).fetchall()
        return [(str(name), str(kind)) for name, kind in rows]

    # -- internals -------------------------------------------------------------------------

    def _read_bounded(
        self, conn: sqlite3.Connection, statement: str
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]], bool]:
        """Columns, rows and "there is more", reading no more than the caps can show.

        Each text or blob value is cut in SQLite to just over `max_bytes` (more can never be
        shown), and rows are read one at a time until `max_rows` or twice `max_bytes` of
        values: memory stays near the caps whatever the result's size.
        """
        probe = conn.execute(f"SELECT * FROM (\n{statement}\n) LIMIT 0")
        columns = tuple(d[0] for d in probe.description)
        probe.close()
        keep = self.max_bytes + 1
        clipped = ", ".join(
            f"CASE WHEN typeof({q}) IN ('text', 'blob') AND length({q}) > {keep} "
            f"THEN substr({q}, 1, {keep}) ELSE {q} END"
            for q in map(_quote, columns)
        )
        cursor = conn.execute(f"SELECT {clipped} FROM (\n{statement}\n) LIMIT {self.max_rows + 1}")
        rows: list[tuple[Any, ...]] = []
        read_bytes, budget = 0, 2 * self.max_bytes
        more = False
        for row in cursor:
            if len(rows) == self.max_rows or read_bytes > budget:
                more = True
                break
            rows.append(tuple(row))
            read_bytes += sum(_size(value) for value in row)
        cursor.close()
        return columns, rows, more

    @property
    def _max_length(self) -> int:
        """SQLite's length limit for one value: zeroblob(1e9) would allocate a gigabyte."""
        return max(4 * self.max_bytes, 1_000_000)

    @contextmanager
    def _connect(
        self,
        authorizer: Authorizer,
        deadline: Callable[[], int],
        functions: SafeFunctions | None = None,
    ) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self._uri, uri=True, timeout=self.time_limit_s, isolation_level=None)
        functions = functions or SafeFunctions(self._max_length)
        try:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self._max_length)
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            # LIKE/GLOB match inside one VM step, where the progress handler never runs, in
            # time linear in the pattern: 200 characters keep it near 0.3 s on 1 MB of text.
            conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, _MAX_LIKE_PATTERN)
            conn.set_authorizer(authorizer)
            conn.set_progress_handler(deadline, _PROGRESS_STEPS)
            # SQLite's own printf, instr, replace and trim can outrun the limit in one VM step.
            functions.install(conn)
            yield conn
        finally:
            conn.close()
            functions.close()

    async def _in_thread(self, work: Callable[[threading.Event], _T]) -> _T:
        cancel = threading.Event()
        try:
            return await anyio.to_thread.run_sync(work, cancel, abandon_on_cancel=True)
        except anyio.get_cancelled_exc_class():
            cancel.set()  # the progress handler sees it and the abandoned thread ends promptly
            raise

    def _error(self, query: str, error_class: str, message: str) -> QueryResult:
        hint = _HINTS.get(error_class, "")
        text = f"SQL error ({error_class}): {message}" + (f"\n{hint}" if hint else "")
        return QueryResult(
            query=query, text=text, error_class=error_class, signals={"sql_error": error_class}
        )

    def _describe_error(self, error_class: str, exc: sqlite3.Error, denied: list[str]) -> str:
        if error_class == "timeout":
            return f"the query was stopped at the {self.time_limit_s:g} s time limit."
        if error_class == "denied" and denied:
            return f"the statement tried {denied[0]}, which is not allowed."
        if "user-defined function raised exception" in str(exc) and error_class == "other":
            # No refusal recorded: Python could not read an argument, which happens only for
            # text that is not UTF-8; as a blob the same bytes go through.
            return (
                f"{exc}: printf, format, instr, replace, trim, ltrim and rtrim need text in "
                "UTF-8; pass other bytes as a blob, e.g. instr(CAST(x AS BLOB), 'a')."
            )
        if error_class == "unknown_table":
            names = _name_list(name for name, _ in self.table_names())
            return f"{exc}. Tables in this database: {names}."
        return str(exc)

    def _list_tables(self, cancel: threading.Event) -> ToolOutput:
        tables = self.table_names()
        lines = [f"{len(tables)} tables and views:"]
        with self._connect(Authorizer(METADATA_PRAGMAS), _Deadline(self.time_limit_s, cancel)) as c:
            for name, kind in tables:
                columns = [row[1] for row in c.execute(f"PRAGMA table_info({_quote(name)})")]
                suffix = " (view)" if kind == "view" else ""
                lines.append(f"{name}{suffix}: {', '.join(columns)}")
        text, _ = _cap("\n".join(lines), self.max_bytes)
        return ToolOutput(text, signals={"tables": len(tables)})

    def _describe(self, table: str, cancel: threading.Event) -> ToolOutput:
        tables = self.table_names()
        match = next(((n, k) for n, k in tables if n.lower() == table.strip().lower()), None)
        if match is None:
            names = _name_list(n for n, _ in tables)
            return self._error(
                table, "unknown_table", f"no such table: {table}. Tables in this database: {names}."
            ).to_output()
        name, kind = match
        deadline = _Deadline(self.time_limit_s, cancel)
        with self._connect(Authorizer(METADATA_PRAGMAS), deadline) as conn:
            columns = conn.execute(f"PRAGMA table_info({_quote(name)})").fetchall()
            keys = {
                row[3]: f"{row[2]}.{row[4]}"
                for row in conn.execute(f"PRAGMA foreign_key_list({_quote(name)})")
            }
            try:
                count = f"{conn.execute(f'SELECT COUNT(*) FROM {_quote(name)}').fetchone()[0]} rows"
            except sqlite3.OperationalError as exc:
                count = f"row count unknown: {'time limit' if deadline.hit else exc}"
            sample = ""
            if self.sample_rows and not deadline.hit:
                with contextlib.suppress(sqlite3.OperationalError):
                    cursor = conn.execute(f"SELECT * FROM {_quote(name)} LIMIT 3")
                    head = tuple(d[0] for d in cursor.description)
                    rows = cursor.fetchall()
                    sample, _ = format_table(head, rows, max_bytes=self.max_bytes // 2)
        lines = [f"{kind} {name} ({count})"]
        for _cid, column, ctype, notnull, default, pk in columns:
            parts = [f"  {column}", ctype or "ANY"]
            parts += ["PRIMARY KEY"] if pk else []
            parts += ["NOT NULL"] if notnull else []
            parts += [f"DEFAULT {default}"] if default is not None else []
            parts += [f"-> {keys[column]}"] if column in keys else []
            lines.append(" ".join(parts))
        if sample:
            lines += ["sample rows:", sample]
        text, _ = _cap("\n".join(lines), self.max_bytes)
        return ToolOutput(text, signals={"table": name, "columns": len(columns)})


def _size(value: Any) -> int:
    """Roughly the bytes a value takes to show (text and blobs dominate)."""
    return len(value) if isinstance(value, str | bytes) else 8


def _name_list(names: Iterable[str], limit: int = 100) -> str:
    listed = list(names)
    more = f" and {len(listed) - limit} more" if len(listed) > limit else ""
    return ", ".join(listed[:limit]) + more


def _cap(text: str, max_bytes: int) -> tuple[str, bool]:
    data = text.encode()
    if len(data) <= max_bytes:
        return text, False
    cut = len(data) - max_bytes
    return data[:max_bytes].decode(errors="ignore") + f"\n[... {cut} bytes truncated ...]", True
