"""SQL functions that run inside one SQLite VM step, near the 1 MB value cap, against the
SqlToolkit's time limit: the toolkit's replacements, and (``--builtins``) SQLite's own under the
same limits (length cap, progress handler), which the time limit cannot stop.

    python benchmarks/sql_single_step.py              # the toolkit, 1 s limit
    python benchmarks/sql_single_step.py --builtins   # also SQLite's own (~1 min more)
    python benchmarks/sql_single_step.py --json
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from dispatcher_tools.sql import SqlToolkit

LIMIT_S = 1.0


def _a(chars: int) -> str:
    return f"replace(hex(zeroblob({chars // 2})), '0', 'a')"  # `chars` letters 'a'


# Each needle or character set differs from the text only at its end: SQLite's worst case.
CASES = {
    "instr (text)": f"SELECT instr({_a(999_000)}, {_a(499_000)} || 'b')",
    "instr (blob)": "SELECT instr(zeroblob(999000), zeroblob(499000) || x'01')",
    "replace": f"SELECT length(replace({_a(999_000)}, {_a(499_000)} || 'b', 'x'))",
    "trim, 3,001-character set": f"SELECT length(trim({_a(900_000)}, hex(zeroblob(1500)) || 'a'))",
    "ltrim, 80,001-character set": f"SELECT length(ltrim({_a(900_000)}, "
    "hex(zeroblob(40000)) || 'a'))",
    "upper": f"SELECT length(upper({_a(999_000)}))",
    "hex": "SELECT length(hex(zeroblob(499000)))",
    "printf %c": "SELECT printf('%.*c', 2000000000, 'x')",
    "LIKE, 397-character pattern": f"SELECT {_a(900_000)} LIKE "
    "replace(hex(zeroblob(99)), '0', '%a') || 'b'",
    "substr in a loop": f"WITH RECURSIVE r(i, s) AS (SELECT 1, {_a(999_000)} UNION ALL "
    "SELECT i + 1, substr(s, 2) || 'a' FROM r) SELECT max(i) FROM r",
    "string built by a recursive CTE": "WITH RECURSIVE r(i, s) AS (SELECT 1, 'a' UNION ALL "
    "SELECT i + 1, s || 'aaaaaaaaaa' FROM r) SELECT max(length(s)) FROM r",
    "group_concat": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
    f"SELECT length(group_concat({_a(1000)})) FROM r",
}
# SQLite's own trim on the 80,001-character set runs for minutes: left out of --builtins.
SLOWEST = {"ltrim, 80,001-character set"}


def _builtin_seconds(db: Path, query: str) -> tuple[float, str]:
    """SQLite's own function under the toolkit's limits, without its replacements."""
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1_000_000)
    expires = time.monotonic() + LIMIT_S
    conn.set_progress_handler(lambda: int(time.monotonic() > expires), 1000)
    started = time.monotonic()
    try:
        conn.execute(query).fetchall()
        outcome = "result"
    except sqlite3.Error as exc:
        outcome = "timeout" if "interrupt" in str(exc) else f"error: {exc}"
    finally:
        conn.close()
    return time.monotonic() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builtins", action="store_true", help="also time SQLite's own")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tiny.sqlite"
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE t (x INTEGER)")
        toolkit = SqlToolkit(db, time_limit_s=LIMIT_S)
        for name, query in CASES.items():
            started = time.monotonic()
            result = toolkit.execute(query)
            row = {
                "case": name,
                "toolkit_s": round(time.monotonic() - started, 3),
                "toolkit": result.error_class or "result",
            }
            if args.builtins and name not in SLOWEST:
                seconds, outcome = _builtin_seconds(db, query)
                row |= {"sqlite_s": round(seconds, 3), "sqlite": outcome}
            rows.append(row)
    if args.json:
        print(json.dumps({"limit_s": LIMIT_S, "cases": rows}, indent=2))
        return
    print(f"time limit {LIMIT_S:g} s; values capped at 1,000,000 bytes")
    print(f"{'case':34} {'toolkit':>18} {'SQLite own':>22}")
    for row in rows:
        own = f"{row['sqlite_s']:.2f} s {row['sqlite']}" if "sqlite_s" in row else "-"
        print(f"{row['case']:34} {row['toolkit_s']:>8.2f} s {row['toolkit']:>7} {own:>22}")


if __name__ == "__main__":
    main()
