"""Framework overhead per agent step, side by side with the peers, in one process.

Every framework runs the same loop: a zero-latency model asks for one tiny async tool `steps`
times, then answers. dispatcher runs with argument validation and JSONL tracing to a real file
(in a temporary folder) and its detectors on; see _dispatcher_side.py and _peers.py for how
each framework is driven. Runs are interleaved (framework order rotates every round) so that
machine noise hits every framework alike.

Two measurements:
- per step: one whole run's time divided by `steps`; median and p95 over the rounds.
  The headline is process CPU time (steady on a shared machine); wall time is reported too.
- flat as history grows: in 60-turn runs, the CPU time of turn 50 against turn 5 (each the
  mean of the turn and its two neighbours, median over runs).

    python benchmarks/overhead.py                 # tables
    python benchmarks/overhead.py --json          # one JSON object (keys below)
    python benchmarks/overhead.py --quick         # fewer rounds, for a smoke run

JSON keys: `<framework>_us_per_step` (median CPU us per step), `..._p95`, `..._wall_us_per_step`,
`<peer>_over_dispatcher` (ratio of medians), `<framework>_turn50_over_turn5`, `machine`.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from _common import build_workloads, freeze_heap, machine, print_table, summary

FRAMEWORKS = ["bare_loop", "dispatcher", "dispatcher_run", "pydantic_ai", "openai_agents"]
PEERS = ("pydantic_ai", "openai_agents")


async def per_step(names: list[str], *, steps: int, rounds: int, trace_dir: Path) -> dict[str, Any]:
    """Interleaved whole runs; returns CPU and wall microseconds per step for each framework."""
    workloads = build_workloads(names, trace_dir, steps=steps)
    for workload in workloads:  # warm caches, lazy imports and first-use paths
        for _ in range(3):
            await workload.run()
    freeze_heap()
    cpu: dict[str, list[float]] = {w.name: [] for w in workloads}
    wall: dict[str, list[float]] = {w.name: [] for w in workloads}
    for round_ in range(rounds):
        shift = round_ % len(workloads)
        for workload in workloads[shift:] + workloads[:shift]:
            gc.collect()  # each run pays for its own garbage, not for the previous framework's
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            await workload.run()
            cpu[workload.name].append((time.process_time() - started_cpu) / steps * 1e6)
            wall[workload.name].append((time.perf_counter() - started_wall) / steps * 1e6)
    return {name: {"cpu": summary(cpu[name]), "wall": summary(wall[name])} for name in cpu}


async def flatness(names: list[str], *, runs: int, trace_dir: Path) -> dict[str, Any]:
    """CPU time of turn 5 and turn 50 (1-based) in 60-turn runs."""
    turns = 60
    stamps: list[float] = []

    async def stamp(turn: int) -> None:
        stamps.append(time.process_time())

    workloads = build_workloads(names, trace_dir, steps=turns, hook=stamp)
    for workload in workloads:
        await workload.run()
    freeze_heap()
    per_turn: dict[str, list[list[float]]] = {w.name: [] for w in workloads}
    for round_ in range(runs):
        shift = round_ % len(workloads)
        for workload in workloads[shift:] + workloads[:shift]:
            stamps.clear()
            gc.collect()
            await workload.run()
            # turn k's cost: from the model's k-th call to its (k+1)-th
            per_turn[workload.name].append([b - a for a, b in itertools.pairwise(stamps)])
    result = {}
    for name, samples in per_turn.items():

        def around(turn: int, samples: list[list[float]] = samples) -> float:
            index = turn - 1
            return statistics.median(statistics.fmean(s[index - 1 : index + 2]) for s in samples)

        fifth, fiftieth = around(5), around(50)
        result[name] = {
            "turn5_us": round(fifth * 1e6, 2),
            "turn50_us": round(fiftieth * 1e6, 2),
            "turn50_over_turn5": round(fiftieth / fifth, 3),
        }
    return result


def flatten(steps: dict[str, Any], flat: dict[str, Any]) -> dict[str, Any]:
    """The JSON object: headline keys first."""
    out: dict[str, Any] = {}
    for name, stats in steps.items():
        out[f"{name}_us_per_step"] = stats["cpu"]["median"]
        out[f"{name}_us_per_step_p95"] = stats["cpu"]["p95"]
        out[f"{name}_wall_us_per_step"] = stats["wall"]["median"]
    ours = steps.get("dispatcher", {}).get("cpu", {}).get("median")
    for peer in PEERS:
        if ours and peer in steps:
            out[f"{peer}_over_dispatcher"] = round(steps[peer]["cpu"]["median"] / ours, 1)
    for name, stats in flat.items():
        out[f"{name}_turn50_over_turn5"] = stats["turn50_over_turn5"]
    out["details"] = {"per_step": steps, "flatness": flat}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=100, help="runs per framework")
    parser.add_argument("--flat-runs", type=int, default=20, help="60-turn runs per framework")
    parser.add_argument("--frameworks", nargs="+", default=FRAMEWORKS, choices=FRAMEWORKS)
    parser.add_argument("--quick", action="store_true", help="10 rounds, 5 flat runs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    rounds, flat_runs = (10, 5) if args.quick else (args.rounds, args.flat_runs)

    async def measure() -> tuple[dict[str, Any], dict[str, Any]]:
        with tempfile.TemporaryDirectory(prefix="dispatcher-bench-") as folder:
            steps = await per_step(
                args.frameworks, steps=args.steps, rounds=rounds, trace_dir=Path(folder)
            )
            flat = await flatness(args.frameworks, runs=flat_runs, trace_dir=Path(folder))
        return steps, flat

    steps, flat = anyio.run(measure)
    out = flatten(steps, flat)
    out["machine"] = machine()
    out["settings"] = {"steps": args.steps, "rounds": rounds, "flat_runs": flat_runs}
    if args.json:
        print(json.dumps(out))
        return
    print(f"Overhead per step ({args.steps}-step tool loop, {rounds} interleaved runs each)")
    ours = steps.get("dispatcher", {}).get("cpu", {}).get("median")
    rows = []
    for name, stats in steps.items():
        ratio = stats["cpu"]["median"] / ours if ours else float("nan")
        rows.append(
            [
                name,
                stats["cpu"]["median"],
                stats["cpu"]["p95"],
                stats["wall"]["median"],
                stats["wall"]["p95"],
                f"{ratio:.2f}x",
            ]
        )
    print_table(
        ["framework", "cpu us/step", "cpu p95", "wall us/step", "wall p95", "vs dispatcher"],
        rows,
    )
    print("\nFlat as history grows (60-turn runs; CPU us of one turn)")
    print_table(
        ["framework", "turn 5", "turn 50", "turn50/turn5"],
        [[n, s["turn5_us"], s["turn50_us"], s["turn50_over_turn5"]] for n, s in flat.items()],
    )
    print(f"\nmachine: {json.dumps(out['machine'])}")


if __name__ == "__main__":
    main()
