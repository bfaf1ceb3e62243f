"""What makes a query safe to run: one statement, read-only, authorized, classified on failure.

The authorizer is the enforcement; the statement checks before it only give a small model a
clearer message than ``not authorized``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "METADATA_PRAGMAS",
    "OTHER_STATEMENT_KEYWORDS",
    "READ_QUERY_KEYWORDS",
    "Authorizer",
    "GuardError",
    "classify_error",
    "leading_keyword",
    "single_statement",
]

READ_QUERY_KEYWORDS = frozenset({"SELECT", "WITH", "VALUES"})
# Statements SQLite knows that are not queries: refused by name, before SQLite sees them.
# Anything else (a typo such as SELEC) goes to SQLite's parser for a real syntax message.
OTHER_STATEMENT_KEYWORDS = frozenset(
    {
        "ALTER", "ANALYZE", "ATTACH", "BEGIN", "COMMIT", "CREATE", "DELETE", "DETACH", "DROP",
        "END", "EXPLAIN", "INSERT", "PRAGMA", "REINDEX", "RELEASE", "REPLACE", "ROLLBACK",
        "SAVEPOINT", "UPDATE", "VACUUM",
    }
)  # fmt: skip

# Readable names for authorizer action codes, so "denied" says what the statement tried to do.
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ")
    for name in [
        "CREATE_INDEX",
        "CREATE_TABLE",
        "CREATE_TEMP_INDEX",
        "CREATE_TEMP_TABLE",
        "CREATE_TEMP_TRIGGER",
        "CREATE_TEMP_VIEW",
        "CREATE_TRIGGER",
        "CREATE_VIEW",
        "DELETE",
        "DROP_INDEX",
        "DROP_TABLE",
        "DROP_TEMP_INDEX",
        "DROP_TEMP_TABLE",
        "DROP_TEMP_TRIGGER",
        "DROP_TEMP_VIEW",
        "DROP_TRIGGER",
        "DROP_VIEW",
        "INSERT",
        "PRAGMA",
        "READ",
        "SELECT",
        "TRANSACTION",
        "UPDATE",
        "ATTACH",
        "DETACH",
        "ALTER_TABLE",
        "REINDEX",
        "ANALYZE",
        "CREATE_VTABLE",
        "DROP_VTABLE",
        "FUNCTION",
        "SAVEPOINT",
        "RECURSIVE",
    ]
    if hasattr(sqlite3, f"SQLITE_{name}")
}

_QUERY_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)
# Functions that touch files or raw pointers in some SQLite builds; never needed for analysis.
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
# Pragmas the toolkit itself uses to describe a table; never granted to a model's query.
METADATA_PRAGMAS = frozenset({"table_info", "foreign_key_list"})


class GuardError(Exception):
    """A query rejected before it reached SQLite, with its error class."""

    def __init__(self, error_class: str, message: str) -> None:
        self.error_class = error_class
        super().__init__(message)


@dataclass
class Authorizer:
    """SQLite authorizer callback allowing reads only; remembers the first denied action."""

    pragmas: frozenset[str] = frozenset()
    denied: list[str] = field(default_factory=list)

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        if action in _QUERY_ACTIONS:
            if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
                self.denied.append(_describe_action(action, arg1, arg2))
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in self.pragmas:
            return sqlite3.SQLITE_OK
        self.denied.append(_describe_action(action, arg1, arg2))
        return sqlite3.SQLITE_DENY


def _describe_action(action: int, arg1: str | None, arg2: str | None) -> str:
    """An authorizer action as words: "DELETE on Album", "calling load_extension()"."""
    if action == sqlite3.SQLITE_FUNCTION:
        return f"calling {arg2}()"
    what = _ACTION_NAMES.get(action, f"action {action}")
    if action == sqlite3.SQLITE_PRAGMA:
        return f"PRAGMA {arg1}"
    return f"{what} on {arg1}" if arg1 and action not in (sqlite3.SQLITE_ATTACH,) else what


def _statement_spans(sql: str) -> Iterable[tuple[int, int, bool]]:
    """Yield (start, end, has_code) for each ';'-separated piece, skipping strings and comments."""
    i, start, has_code, n = 0, 0, False, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`[":
            close = "]" if ch == "[" else ch
            i += 1
            while i < n:
                if sql[i] == close:
                    # A doubled quote is an escaped quote, not the end of the literal.
                    if close != "]" and i + 1 < n and sql[i + 1] == close:
                        i += 2
                        continue
                    break
                i += 1
            has_code = True
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n - 1 if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n - 1 if end < 0 else end + 1
        elif ch == ";":
            yield start, i, has_code
            start, has_code = i + 1, False
        elif not ch.isspace():
            has_code = True
        i += 1
    yield start, n, has_code


def single_statement(sql: str) -> str:
    """Return the only statement in `sql` (trailing ';' removed); raise GuardError otherwise."""
    pieces = [sql[a:b] for a, b, has_code in _statement_spans(sql) if has_code]
    if not pieces:
        raise GuardError("syntax", "The query is empty. Send one SELECT statement.")
    if len(pieces) > 1:
        raise GuardError(
            "multiple_statements",
            f"Only one SQL statement per call is allowed, but the query has {len(pieces)}. "
            "Send one SELECT statement without ';' between statements.",
        )
    return pieces[0].strip()


_WORD = re.compile(r"[A-Za-z_]+")


def leading_keyword(statement: str) -> str:
    """The first keyword of a statement, skipping comments ('' when it starts with a symbol)."""
    i, n = 0, len(statement)
    while i < n:
        if statement[i].isspace():
            i += 1
        elif statement.startswith("--", i):
            end = statement.find("\n", i)
            i = n if end < 0 else end + 1
        elif statement.startswith("/*", i):
            end = statement.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            match = _WORD.match(statement, i)
            return match.group(0).upper() if match else ""
    return ""


def classify_error(exc: sqlite3.Error, *, timed_out: bool, denied: list[str]) -> str:
    """Classify a SQLite error: syntax, unknown_table, unknown_column, timeout, denied, other."""
    text = str(exc).lower()
    if timed_out and "interrupt" in text:
        return "timeout"
    if denied or "not authorized" in text or "readonly" in text or "read-only" in text:
        return "denied"
    if text.startswith("no such table") or text.startswith("no such view"):
        return "unknown_table"
    if text.startswith("no such column"):
        return "unknown_column"
    if (
        "syntax error" in text
        or "incomplete input" in text
        or "unrecognized token" in text
        or "no such function" in text
        or "wrong number of arguments" in text
        or "misuse of aggregate" in text
    ):
        return "syntax"
    return "other"
