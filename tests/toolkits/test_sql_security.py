"""Read-only guarantees: writes, schema changes, PRAGMA, ATTACH and stacked statements never run."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from dispatcher_tools.sql import SqlToolkit

TABLES = ("Track", "Album", "Invoice", "InvoiceLine")


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("DROP TABLE Track", "denied"),
        ("DELETE FROM Track", "denied"),
        ("UPDATE Track SET Name = 'x'", "denied"),
        ("INSERT INTO Album (Title, ArtistId) VALUES ('x', 1)", "denied"),
        ("REPLACE INTO Album (AlbumId, Title, ArtistId) VALUES (1, 'x', 1)", "denied"),
        ("ATTACH DATABASE ':memory:' AS other", "denied"),
        ("PRAGMA writable_schema = ON", "denied"),
        ("PRAGMA table_info(Track)", "denied"),
        ("CREATE TABLE t (x)", "denied"),
        ("CREATE TEMP TABLE t (x)", "denied"),
        ("ALTER TABLE Track RENAME TO Tracks", "denied"),
        ("VACUUM", "denied"),
        ("BEGIN", "denied"),
        ("SELECT 1; DROP TABLE Track", "multiple_statements"),
        ("SELECT 1;DELETE FROM Track;", "multiple_statements"),
        ("SELECT ';'; DELETE FROM Track", "multiple_statements"),
        ("/* ; */ SELECT 1; -- ;\nDELETE FROM Track", "multiple_statements"),
        # Passes the keyword check (starts with WITH): the authorizer must stop it.
        ("WITH x AS (SELECT 1) DELETE FROM Track", "denied"),
        ("WITH x AS (SELECT 1) INSERT INTO Genre (Name) SELECT 'x' FROM x", "denied"),
        ("SELECT * FROM pragma_table_info('Track')", "denied"),
        ("SELECT load_extension('/tmp/evil')", "denied"),
    ],
)
def test_forbidden_statement_is_rejected_before_it_runs(
    chinook: Path, statement: str, expected: str
) -> None:
    digest, counts = file_digest(chinook), row_counts(chinook)
    result = SqlToolkit(chinook).execute(statement)
    assert result.error_class == expected, result.text
    assert result.signals == {"sql_error": expected}
    # Refused at prepare time (or earlier), never by the read-only file at write time.
    assert "readonly" not in result.text
    assert file_digest(chinook) == digest
    assert row_counts(chinook) == counts


def test_authorizer_names_the_denied_action(sql: SqlToolkit) -> None:
    result = sql.execute("WITH x AS (SELECT 1) DELETE FROM Track")
    assert "DELETE on Track" in result.text


@pytest.mark.parametrize(
    "query",
    [
        "SELECT ';' AS s",
        "SELECT 1 -- ; DROP TABLE Track",
        "SELECT 1 /* ; DROP TABLE Track */",
        "SELECT \"Name\" FROM Genre WHERE Name = 'it'';s' OR 1 = 1;",
        "SELECT 1;",
        "SELECT 1; ;  -- trailing",
    ],
)
def test_semicolons_in_strings_and_comments_are_one_statement(sql: SqlToolkit, query: str) -> None:
    assert sql.execute(query).ok


def test_runaway_recursive_cte_stops_within_its_time_limit(chinook: Path) -> None:
    toolkit = SqlToolkit(chinook, time_limit_s=0.3)
    started = time.monotonic()
    result = toolkit.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    )
    elapsed = time.monotonic() - started
    assert result.error_class == "timeout"
    assert 0.25 <= elapsed < 1.0
    assert result.signals == {"sql_error": "timeout"}


def test_cancel_event_stops_a_running_query(chinook: Path) -> None:
    toolkit = SqlToolkit(chinook, time_limit_s=30)
    cancel = threading.Event()
    timer = threading.Timer(0.1, cancel.set)
    timer.start()
    started = time.monotonic()
    result = toolkit.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n",
        cancel=cancel,
    )
    assert result.error_class == "timeout"
    assert time.monotonic() - started < 2.0


@pytest.mark.anyio
async def test_cancelled_tool_call_returns_promptly(chinook: Path) -> None:
    toolkit = SqlToolkit(chinook, time_limit_s=30)
    started = time.monotonic()
    with anyio.move_on_after(0.2):
        await toolkit.run_query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
        )
    assert time.monotonic() - started < 2.0


def test_huge_values_are_refused(sql: SqlToolkit) -> None:
    result = sql.execute("SELECT zeroblob(500000000)")
    assert result.error_class == "other"
    assert "too big" in result.text


def test_database_is_opened_read_only(chinook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[str, bool]] = []
    connect = sqlite3.connect

    def recording_connect(database: str, **kwargs: Any) -> sqlite3.Connection:
        opened.append((database, bool(kwargs.get("uri"))))
        connection: sqlite3.Connection = connect(database, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    assert SqlToolkit(chinook).execute("SELECT 1").ok
    assert opened == [(f"{chinook.resolve().as_uri()}?mode=ro", True)]
    # The mode=ro URI is a second wall behind the authorizer: it refuses writes by itself.
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        connect(opened[0][0], uri=True).execute("DELETE FROM Genre")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT printf('%.*c', 2000000000, 'x')",
        "SELECT format('%.*c', 2000000000, 'x')",
        "SELECT printf('%' || '.2000000000c', 'x')",
        "SELECT printf('%*.*c', 5, 2000000000, 'x')",
    ],
)
def test_printf_cannot_outrun_the_time_limit(chinook: Path, query: str) -> None:
    # SQLite 3.40 repeats %c one character at a time inside a single VM step, where the
    # progress handler never runs: 2e9 repeats took 8 s against a 0.5 s limit.
    sql = SqlToolkit(chinook, time_limit_s=0.5)
    started = time.monotonic()
    result = sql.execute(query)
    assert time.monotonic() - started < 2.0
    assert result.error_class is not None
    assert "limited to 100000 characters" in result.text


def test_printf_still_formats(chinook: Path) -> None:
    sql = SqlToolkit(chinook)
    result = sql.execute(
        "SELECT printf('%.2f', 3.14159), format('%5d|%-3s|%.*c', 42, 'ab', 3, 'z'), "
        "printf('%s and %%', 'x'), printf(NULL), printf('%d')"
    )
    assert result.ok, result.text
    assert result.rows == (("3.14", "   42|ab |zzz", "x and %", None, "0"),)


def test_printf_output_is_capped_like_any_value(chinook: Path) -> None:
    sql = SqlToolkit(chinook)
    parts = ", ".join(["hex(zeroblob(450000))"] * 8)  # 900 kB of text each
    result = sql.execute(f"SELECT length(printf('{'%s' * 8}', {parts}))")
    assert result.rows == ((None,),)  # over the length limit: NULL, as SQLite's own printf


@pytest.mark.parametrize("operator", ["LIKE '%' ||", "GLOB '*' ||"])
def test_a_long_like_pattern_cannot_outrun_the_time_limit(chinook: Path, operator: str) -> None:
    # LIKE/GLOB match inside one VM step: a 40 kB pattern against 400 kB of text took 26 s
    # against a 0.5 s limit. Patterns are capped at 200 characters.
    text = "replace(hex(zeroblob(200000)), '0', 'a')"
    pattern = "replace(hex(zeroblob(20000)), '0', 'a') || 'b'"
    sql = SqlToolkit(chinook, time_limit_s=0.5)
    started = time.monotonic()
    result = sql.execute(f"SELECT {text} {operator} {pattern}")
    assert time.monotonic() - started < 2.0
    assert result.error_class is not None and "pattern too complex" in result.text


def test_ordinary_like_patterns_work(chinook: Path) -> None:
    result = SqlToolkit(chinook).execute("SELECT count(*) FROM Artist WHERE Name LIKE '%the%'")
    assert result.ok and result.rows[0][0] > 0
