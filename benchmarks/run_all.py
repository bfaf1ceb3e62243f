"""Run every benchmark of this folder and keep the results.

Each benchmark runs in its own process with `--json`; the combined object (with the machine
description) is written to `--out` (default benchmarks/results/latest.json) and a summary of
the headline numbers is printed. `--quick` makes every benchmark smaller (a smoke run, not
numbers to publish).

    python benchmarks/run_all.py [--quick] [--only overhead scale] [--out FILE]

The benchmarks (see README.md): overhead.py, live_runs.py, scale.py, routing_latency.py,
import_time.py, otel_overhead.py. The router quality benchmark lives in benchmarks/routers/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    # name: (arguments for a full run, arguments for --quick)
    "overhead": ([], ["--quick"]),
    "live_runs": ([], ["--runs", "200", "--sequential-runs", "10"]),
    "scale": ([], ["--sizes", "100", "1000"]),
    "routing_latency": ([], ["--queries", "30", "--dispatcher-runs", "30"]),
    "import_time": ([], ["--repeats", "3"]),
    "otel_overhead": ([], ["--quick"]),
}


def run(name: str, arguments: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(HERE / f"{name}.py"), "--json", *arguments]
    print(f"$ {' '.join(['python', f'benchmarks/{name}.py', '--json', *arguments])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        print(f"  failed after {seconds:.0f} s:\n    " + "\n    ".join(tail), flush=True)
        return {"error": tail, "command": command[1:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = round(seconds, 1)
    print(f"  done in {seconds:.0f} s", flush=True)
    return result


def headline(results: dict[str, Any]) -> list[str]:
    """The numbers the issue asks about, one line each."""
    lines = []
    overhead = results.get("overhead", {})
    if "dispatcher_us_per_step" in overhead:
        lines.append(
            "overhead per step (CPU us, median): dispatcher "
            f"{overhead['dispatcher_us_per_step']}, pydantic-ai "
            f"{overhead.get('pydantic_ai_us_per_step')}, openai-agents "
            f"{overhead.get('openai_agents_us_per_step')}, bare loop "
            f"{overhead.get('bare_loop_us_per_step')}"
        )
        lines.append(f"turn 50 / turn 5: dispatcher {overhead.get('dispatcher_turn50_over_turn5')}")
    live = results.get("live_runs", {})
    if "dispatcher_kb_per_live_run" in live:
        slowdown = next((v for k, v in live.items() if k.startswith("dispatcher_slowdown")), None)
        lines.append(
            f"live runs: dispatcher {live['dispatcher_kb_per_live_run']} KB/run, "
            f"slowdown {slowdown}x"
        )
    scale = results.get("scale", {})
    for key, value in scale.items():
        if key.endswith("_wall_over_ideal"):
            lines.append(f"scale {key}: {value}x")
    routing = results.get("routing_latency", {})
    for name, value in routing.get("p50_ms", {}).items():
        lines.append(f"routing p50 {name}: {value} ms (p99 {routing['p99_ms'][name]})")
    imports = results.get("import_time", {})
    if "import_dispatcher_s" in imports:
        lines.append(
            f"import dispatcher: {imports['import_dispatcher_s']} s; public API: "
            f"{imports['import_public_api_s']} s"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for name in args.only:
        full, quick = BENCHMARKS[name]
        results[name] = run(name, quick if args.quick else full)
    results["quick"] = args.quick
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    for line in headline(results):
        print(f"  {line}")


if __name__ == "__main__":
    main()
