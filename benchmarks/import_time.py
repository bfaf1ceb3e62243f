"""How long importing dispatcher takes, in fresh processes.

Three statements, each timed inside a new interpreter (median of `--repeats` processes):
`import dispatcher`, `from dispatcher import Agent, Dispatcher, tool` (what a script using the
framework loads), and `import dispatcher.cli.app` (the command line). Also the whole process
(`python -c "import dispatcher"` minus `python -c "pass"`), and the modules that
`python -X importtime` finds heaviest for the second statement.

    python benchmarks/import_time.py [--json] [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine, print_table

ROOT = Path(__file__).resolve().parent.parent
STATEMENTS = {
    "import dispatcher": "import dispatcher",
    "from dispatcher import Agent, Dispatcher, tool": (
        "from dispatcher import Agent, Dispatcher, tool"
    ),
    "import dispatcher.cli.app": "import dispatcher.cli.app",
}
TIMER = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def _python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )


def in_process_seconds(statement: str, repeats: int) -> float:
    samples = [
        float(_python(TIMER.format(statement=statement)).stdout.strip()) for _ in range(repeats)
    ]
    return statistics.median(samples)


def whole_process_seconds(code: str, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        _python(code)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def heaviest(statement: str, top: int = 10) -> list[tuple[str, float]]:
    """Modules by cumulative import time (ms), from `-X importtime`."""
    report = _python(statement, "-X", "importtime").stderr
    rows = []
    for line in report.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|"))
        rows.append((name, int(cumulative) / 1000))
    return sorted(rows, key=lambda row: -row[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seconds = {label: in_process_seconds(code, args.repeats) for label, code in STATEMENTS.items()}
    bare = whole_process_seconds("pass", args.repeats)
    process = whole_process_seconds("import dispatcher", args.repeats) - bare
    top = heaviest(STATEMENTS["from dispatcher import Agent, Dispatcher, tool"])
    out: dict[str, Any] = {
        "import_dispatcher_s": round(seconds["import dispatcher"], 4),
        "import_public_api_s": round(seconds["from dispatcher import Agent, Dispatcher, tool"], 4),
        "import_cli_s": round(seconds["import dispatcher.cli.app"], 4),
        "process_import_dispatcher_s": round(process, 4),
        "heaviest_modules_ms": dict(top),
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"Import time in a fresh process (median of {args.repeats})")
    rows: list[list[Any]] = [[label, f"{value:.3f}"] for label, value in seconds.items()]
    rows.append(['process: python -c "import dispatcher" minus "pass"', f"{process:.3f}"])
    print_table(["statement", "seconds"], rows)
    print("\nHeaviest modules for `from dispatcher import Agent, Dispatcher, tool` (cumulative)")
    print_table(["module", "ms"], [[name, ms] for name, ms in top])
    print(f"\nmachine: {json.dumps(out['machine'])}")


if __name__ == "__main__":
    main()
