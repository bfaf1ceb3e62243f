"""Many runs live at once in one process: memory per live run, and CPU per turn.

The workload is overhead.py's 20-step tool loop (zero-latency model, one tiny async tool).

- memory: N runs are started together and each is held at turn 10 (its model call waits on
  an event) until all N are there; then the heap (tracemalloc, after a full collection) and
  the resident set size are compared with before the runs started, per run. The two are
  measured in separate passes: tracemalloc's own bookkeeping would inflate the RSS.
- slowdown: N runs execute concurrently, every model call yielding to the event loop once
  so that the runs interleave; process CPU time per turn is compared with the same runs
  executed one at a time.

    python benchmarks/live_runs.py [--runs 1000] [--json] [--frameworks ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel

sys.path.insert(0, str(Path(__file__).parent))

from _common import build_workloads, freeze_heap, machine, print_table

FRAMEWORKS = ["bare_loop", "dispatcher", "pydantic_ai", "openai_agents"]
STEPS = 20
HOLD_AT = 10


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


async def live_memory(name: str, runs: int, trace_dir: Path, *, traced: bool) -> float:
    """Bytes per run with `runs` runs all held at turn HOLD_AT."""
    arrived = 0
    warming = False
    all_in = anyio.Event()
    release = anyio.Event()

    async def hold(turn: int) -> None:
        nonlocal arrived
        if turn == HOLD_AT and not warming:
            arrived += 1
            if arrived == runs:
                all_in.set()
            await release.wait()

    (workload,) = build_workloads([name], trace_dir, steps=STEPS, hook=hold)
    warming = True
    await workload.run()  # lazy imports and first-use caches are not per-run memory
    warming = False
    freeze_heap()
    if traced:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = _rss_bytes()
    async with anyio.create_task_group() as group:
        for _ in range(runs):
            group.start_soon(workload.run)
        await all_in.wait()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0] if traced else _rss_bytes()
        group.cancel_scope.cancel()  # the rest of each run is not needed
    if traced:
        tracemalloc.stop()
    gc.unfreeze()
    gc.collect()
    return (after - before) / runs


async def cpu_per_turn(name: str, runs: int, trace_dir: Path, *, concurrent: bool) -> float:
    """Process CPU microseconds per model turn, runs interleaved or one after another."""

    async def yield_once(turn: int) -> None:
        await anyio.lowlevel.checkpoint()

    (workload,) = build_workloads([name], trace_dir, steps=STEPS, hook=yield_once)
    await workload.run()
    freeze_heap()
    started = time.process_time()
    if concurrent:
        async with anyio.create_task_group() as group:
            for _ in range(runs):
                group.start_soon(workload.run)
    else:
        for _ in range(runs):
            await workload.run()
    spent = time.process_time() - started
    gc.unfreeze()
    gc.collect()
    return spent / (runs * (STEPS + 1)) * 1e6


async def measure_one(name: str, runs: int, sequential_runs: int) -> dict[str, Any]:
    """All four numbers for one framework (RSS first, while the process is fresh)."""
    with tempfile.TemporaryDirectory(prefix="dispatcher-bench-") as folder:
        directory = Path(folder)
        rss = await live_memory(name, runs, directory, traced=False)
        traced = await live_memory(name, runs, directory, traced=True)
        alone = statistics.median(
            [
                await cpu_per_turn(name, sequential_runs, directory, concurrent=False)
                for _ in range(3)
            ]
        )
        together = await cpu_per_turn(name, runs, directory, concurrent=True)
    return {
        "kb_per_live_run": round(traced / 1024, 1),
        "rss_kb_per_live_run": round(rss / 1024, 1),
        "cpu_us_per_turn_alone": round(alone, 1),
        "cpu_us_per_turn_live": round(together, 1),
        "slowdown": round(together / alone, 2),
    }


def measure(names: list[str], runs: int, sequential_runs: int) -> dict[str, Any]:
    """Each framework in a fresh process: no imports, heap or arenas of another one."""
    results: dict[str, Any] = {}
    for name in names:
        command = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--runs",
            str(runs),
            "--sequential-runs",
            str(sequential_runs),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            results[name] = {"error": done.stderr.strip().splitlines()[-1:]}
        else:
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {name}: {results[name]}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs live at once")
    parser.add_argument("--sequential-runs", type=int, default=30)
    parser.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(anyio.run(measure_one, args.one, args.runs, args.sequential_runs)))
        return
    results = measure(args.frameworks, args.runs, args.sequential_runs)
    out: dict[str, Any] = {}
    for name, stats in results.items():
        if "error" not in stats:
            out[f"{name}_kb_per_live_run"] = stats["kb_per_live_run"]
            out[f"{name}_slowdown_with_{args.runs}_live"] = stats["slowdown"]
    out["details"] = results
    out["machine"] = machine()
    out["settings"] = {"runs": args.runs, "steps": STEPS, "held_at_turn": HOLD_AT}
    if args.json:
        print(json.dumps(out))
        return
    print(f"{args.runs} runs live at once ({STEPS}-step loop, held at turn {HOLD_AT})")
    print_table(
        ["framework", "KB/run (heap)", "KB/run (RSS)", "us/turn alone", "us/turn live", "slowdown"],
        [
            [
                n,
                s["kb_per_live_run"],
                s["rss_kb_per_live_run"],
                s["cpu_us_per_turn_alone"],
                s["cpu_us_per_turn_live"],
                f"{s['slowdown']:.2f}x",
            ]
            for n, s in results.items()
            if "error" not in s
        ],
    )
    print(f"\nmachine: {json.dumps(out['machine'])}")


if __name__ == "__main__":
    main()
