"""Row and byte caps bound the memory used while reading a result, not only the output."""

from __future__ import annotations

import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from dispatcher_tools.sql import SqlToolkit

MB = 1024 * 1024
# 200 rows of an 800 KB value each (under the 1 MB value limit), made by SQLite on the fly.
BIG_ROWS = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
    "SELECT i, hex(zeroblob(400000)) AS big FROM n"
)
WIDE_ROW = "SELECT " + ", ".join(f"hex(zeroblob(400000)) AS c{i}" for i in range(150))


@pytest.fixture
def tiny_db(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    return path


def _peak_mb(work: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("query", [BIG_ROWS, WIDE_ROW], ids=["many-big-rows", "one-wide-row"])
def test_reading_a_huge_result_keeps_memory_bounded(tiny_db: Path, query: str) -> None:
    toolkit = SqlToolkit(tiny_db, time_limit_s=20)
    results = []
    peak = _peak_mb(lambda: results.append(toolkit.execute(query)))
    result = results[0]
    assert result.error_class is None, result.text
    assert result.truncated
    assert len(result.text.encode()) <= toolkit.max_bytes
    assert peak < 20, f"peak {peak:.0f} MB while reading"  # 610 MB before the caps bound reading


def test_small_results_are_unchanged(tiny_db: Path) -> None:
    toolkit = SqlToolkit(tiny_db)
    result = toolkit.execute("SELECT 1 AS a, 2.5 AS a, 'x' AS b, NULL AS c, x'00ff' AS d")
    assert result.columns == ("a", "a:1", "b", "c", "d")
    assert result.rows == ((1, 2.5, "x", None, b"\x00\xff"),)
    assert not result.truncated
