"""SQL functions that run inside one VM step stay within the time limit near the value cap.

SQLite's progress handler only runs between VM instructions. Its own instr(), replace() and
trim()/ltrim()/rtrim() with a character set compare every position against the whole needle
or set inside a single step: on values near the 1 MB cap they ran 5 s (instr, replace) to
over 100 s (trim) against a 1 s limit. The toolkit replaces them with linear versions that
give the same answers, checked here against SQLite's own on a corpus of awkward values.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from dispatcher_tools.sql import SqlToolkit


def a_text(chars: int) -> str:
    """SQL for a text of `chars` letters 'a', made by SQLite (the query stays short)."""
    return f"replace(hex(zeroblob({chars // 2})), '0', 'a')"


@pytest.fixture
def tiny_db(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    return path


# Each needle or set differs from the text only at its end, SQLite's worst case.
SLOW_CALLS = {
    "instr-text": (f"SELECT instr({a_text(999_000)}, {a_text(499_000)} || 'b')", 0),
    "instr-blob": ("SELECT instr(zeroblob(999000), zeroblob(499000) || x'01')", 0),
    "instr-mixed": (f"SELECT instr({a_text(999_000)}, CAST({a_text(499_000)} || 'b' AS BLOB))", 0),
    "replace": (
        f"SELECT length(replace({a_text(999_000)}, {a_text(499_000)} || 'b', 'x'))",
        999_000,
    ),
    "trim": (f"SELECT length(trim({a_text(900_000)}, hex(zeroblob(1500)) || 'a'))", 0),
    "ltrim": (f"SELECT length(ltrim({a_text(900_000)} || 'b', hex(zeroblob(1500)) || 'a'))", 1),
    "rtrim": (f"SELECT length(rtrim('b' || {a_text(900_000)}, hex(zeroblob(1500)) || 'a'))", 1),
}


@pytest.mark.parametrize("name", list(SLOW_CALLS))
def test_quadratic_builtin_cannot_outrun_the_time_limit(tiny_db: Path, name: str) -> None:
    query, expected = SLOW_CALLS[name]
    sql = SqlToolkit(tiny_db, time_limit_s=0.5)
    started = time.monotonic()
    result = sql.execute(query)
    elapsed = time.monotonic() - started
    # Generous: SQLite's own took 4-5 s (instr, replace) and 5 s to minutes (trim family).
    assert elapsed < 3.0, f"{name} took {elapsed:.1f} s against a 0.5 s limit"
    assert result.ok, result.text
    assert result.rows == ((expected,),)


def test_a_loop_of_big_calls_still_stops_at_the_time_limit(tiny_db: Path) -> None:
    query = (
        f"WITH RECURSIVE r(i, s) AS (SELECT 1, {a_text(900_000)} UNION ALL "
        "SELECT i + 1, replace(s, 'aa', 'ab') FROM r) "
        f"SELECT max(i), max(instr(s, 'c')), max(length(trim(s, 'ab'))) FROM r"
    )
    result = SqlToolkit(tiny_db, time_limit_s=0.5).execute(query)
    assert result.error_class == "timeout"


def test_replace_refuses_a_result_over_the_value_cap(tiny_db: Path) -> None:
    result = SqlToolkit(tiny_db).execute(f"SELECT replace({a_text(900_000)}, 'a', 'bbbb')")
    assert result.error_class == "other"
    assert "too big" in result.text
    assert "replace()" in result.text


# -- same answers as SQLite's own ------------------------------------------------------------

VALUES: list[Any] = [
    None, "", "a", "abc", "banana", "ana", "na", "ñ", "añob", "日本語の本", "本", "a\x00b", "\x00",
    " x ", "xyx", "yx", "a.b", 0, 12, -3, 1.5, 2.0, 1e20, -0.25, b"", b"ab", b"\x00a\x00",
    b"\xc3\xb1", b"an", b"\xff\xfe", "💡x💡",
]  # fmt: skip


def literal(value: Any) -> str:
    """`value` as SQL with its exact type and bytes (text may hold NUL)."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return f"CAST(x'{value.encode().hex()}' AS TEXT)"
    if isinstance(value, bytes):
        return f"x'{value.hex()}'"
    return repr(value)


def _text_that_python_cannot_return(want: tuple[Any, ...], got: tuple[Any, ...]) -> bool:
    """The one documented difference: non-UTF-8 text comes back as a blob, same bytes."""
    same_bytes = want[0] == got[0] and want[1] == "text" and got[1] == "blob"
    try:
        bytes.fromhex(want[0]).decode()
    except UnicodeDecodeError:
        return same_bytes
    return False


@pytest.mark.parametrize(
    ("function", "arity"),
    [("instr", 2), ("replace", 3), ("trim", 2), ("ltrim", 2), ("rtrim", 2)],
)
def test_same_answers_as_sqlite(tiny_db: Path, function: str, arity: int) -> None:
    reference = sqlite3.connect(":memory:")
    sql = SqlToolkit(tiny_db)
    values = VALUES if arity == 2 else [*VALUES[:18], 0, 1.5, b"an", b"\xff"]
    differences = []
    for first in values:  # one query per first argument: a row of every other combination
        calls = [
            f"{function}({', '.join(literal(v) for v in (first, *rest))})"
            for rest in itertools.product(values, repeat=arity - 1)
        ]
        # hex() compares exact bytes: a blob that is not UTF-8 can come back as text.
        query = "SELECT " + ", ".join(f"hex({call}), typeof({call})" for call in calls)
        expected = reference.execute(query).fetchone()
        result = sql.execute(query)
        assert result.ok, result.text
        got_row = result.rows[0]
        for index, call in enumerate(calls):
            want, got = expected[2 * index : 2 * index + 2], got_row[2 * index : 2 * index + 2]
            if want != got and not _text_that_python_cannot_return(want, got):
                differences.append((call, want, got))
    assert not differences, differences[:10]


def test_text_that_is_not_utf8_gets_a_way_out(tiny_db: Path) -> None:
    sql = SqlToolkit(tiny_db)
    refused = sql.execute("SELECT instr(CAST(x'ff61' AS TEXT), 'a')")
    assert refused.error_class == "other"
    assert "UTF-8" in refused.text and "CAST(x AS BLOB)" in refused.text
    assert sql.execute("SELECT instr(CAST(CAST(x'ff61' AS TEXT) AS BLOB), 'a')").rows == ((2,),)


def test_trim_of_a_big_blob_that_is_not_utf8_is_refused_not_slow(tiny_db: Path) -> None:
    sql = SqlToolkit(tiny_db, time_limit_s=0.5)
    blob = "CAST(x'ff' || zeroblob(900000) AS BLOB)"  # || makes text: cast back
    result = sql.execute(f"SELECT trim({blob}, hex(zeroblob(40000)))")
    assert result.error_class == "other"
    assert "trim() of a blob that is not UTF-8" in result.text
