"""N concurrent workflows in one process against a simulated model with 200 ms latency per call.

Each workflow is the worker loop of overhead.py with `--tools` tool steps and a final answer
(so `--tools + 1` model calls); every model call waits `--latency` seconds (`anyio.sleep`).
The ideal wall time is therefore (tools + 1) x latency, whatever N is. Measured per N:

- wall time, and its ratio to the ideal;
- process CPU time, and CPU per model turn (the framework's own work);
- peak memory per workflow: the peak resident set size of a fresh process running only this
  N, minus its size after imports and one warm-up workflow, divided by N;
- trace events written per second (lines in the JSONL files / wall time).

Each (framework, N) runs in its own subprocess so that peaks and leftovers do not mix. A
trace file stays open for its run's lifetime, so N runs need N file descriptors: the soft
limit is raised to the hard limit (`ulimit -Hn`); if that is still too low the run is
reported as not possible rather than silently changed.

Then the batch engines (`dispatcher.batch`, see benchmarks/_batch_engines.py): `--batch-size`
scripted workflows (the same 5 turns of 200 ms) on the local engine and on Ray with 1 and 2
worker processes, each process running `--batch-concurrency` at once; reported as
throughput (workflows/s) and its speed-up, with `ray_speedup_2` = Ray 2 workers over 1.

    python benchmarks/scale.py [--sizes 100 1000 10000] [--part all|concurrency|engines] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FRAMEWORKS = ["dispatcher", "bare_loop"]
SPARE_DESCRIPTORS = 64  # stdio, the venv's imports, the event loop's own


def _rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() // 1024


def _raise_open_files_limit(needed: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def run_one(framework: str, size: int, tools: int, latency: float) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    import anyio

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import build_workloads

    soft, _hard = _raise_open_files_limit(size + SPARE_DESCRIPTORS)
    if framework.startswith("dispatcher") and size + SPARE_DESCRIPTORS > soft:
        return {"error": f"needs {size + SPARE_DESCRIPTORS} open files, the limit is {soft}"}

    async def wait(turn: int) -> None:
        await anyio.sleep(latency)

    async def measure(trace_dir: Path) -> dict[str, Any]:
        (workload,) = build_workloads([framework], trace_dir, steps=tools, hook=wait)
        await workload.run()  # warm-up: lazy imports, first-use caches
        for leftover in trace_dir.glob("*.jsonl"):  # noqa: ASYNC240 (before the clock starts)
            leftover.unlink()
        gc.collect()
        baseline_kb = _rss_kb()
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(size):
                group.start_soon(workload.run)
        wall = time.perf_counter() - wall_started
        cpu = time.process_time() - cpu_started
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        files = trace_dir.glob("*.jsonl")  # noqa: ASYNC240 (after the clock stopped)
        events = sum(path.read_bytes().count(b"\n") for path in files)
        ideal = (tools + 1) * latency
        return {
            "workflows": size,
            "wall_s": round(wall, 3),
            "ideal_s": round(ideal, 3),
            "wall_over_ideal": round(wall / ideal, 3),
            "cpu_s": round(cpu, 3),
            "cpu_us_per_turn": round(cpu / (size * (tools + 1)) * 1e6, 1),
            "peak_kb_per_workflow": round(max(0, peak_kb - baseline_kb) / size, 1),
            "events_written": events,
            "events_per_s": round(events / wall) if events else 0,
            "open_files_limit": soft,
        }

    with tempfile.TemporaryDirectory(prefix="dispatcher-scale-") as folder:
        result: dict[str, Any] = anyio.run(measure, Path(folder))
    return result


ENGINES = [("local", 1), ("ray", 1), ("ray", 2)]


def _engines(args: argparse.Namespace) -> dict[str, Any]:
    """Each engine setting in its own process; throughput and the speed-ups."""
    engines: dict[str, dict[str, Any]] = {}
    for engine, workers in ENGINES:
        label = f"{engine}_{workers}"
        command = [
            sys.executable, __file__, "--one-engine", engine, str(workers),
            "--batch-size", str(args.batch_size),
            "--batch-concurrency", str(args.batch_concurrency),
            "--tools", str(args.tools), "--latency", str(args.latency),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            engines[label] = {"error": done.stderr.strip().splitlines()[-1:]}
        else:
            engines[label] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  batch {label}: {engines[label]}", file=sys.stderr)
    speed = {k: v.get("throughput_per_s") for k, v in engines.items()}
    out: dict[str, Any] = {"engines": engines}
    if speed.get("ray_1") and speed.get("ray_2"):
        out["ray_speedup_2"] = round(speed["ray_2"] / speed["ray_1"], 2)
    if speed.get("local_1") and speed.get("ray_2"):
        out["ray_2_over_local"] = round(speed["ray_2"] / speed["local_1"], 2)
    out["batch_settings"] = {
        "workflows": args.batch_size,
        "concurrency_per_worker": args.batch_concurrency,
        "model_calls_per_workflow": args.tools + 1,
        "latency_s": args.latency,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 1000, 10000])
    parser.add_argument("--tools", type=int, default=4, help="tool steps per workflow")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--frameworks", nargs="+", default=FRAMEWORKS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("FRAMEWORK", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=["all", "concurrency", "engines"], default="all")
    parser.add_argument("--batch-size", type=int, default=10000, help="workflows per batch")
    parser.add_argument("--batch-concurrency", type=int, default=1000, help="per process")
    parser.add_argument("--one-engine", nargs=2, metavar=("ENGINE", "W"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_engine:
        sys.path.insert(0, str(Path(__file__).parent))
        from _batch_engines import measure

        engine, workers = args.one_engine[0], int(args.one_engine[1])
        size, width = args.batch_size, args.batch_concurrency
        print(json.dumps(measure(engine, workers, size, args.tools, args.latency, width)))
        return
    if args.one:
        framework, size = args.one[0], int(args.one[1])
        print(json.dumps(run_one(framework, size, args.tools, args.latency)))
        return

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import machine, print_table

    results: dict[str, dict[str, Any]] = {}
    frameworks = args.frameworks if args.part in ("all", "concurrency") else []
    for framework in frameworks:
        for size in args.sizes:
            command = [
                sys.executable,
                __file__,
                "--one",
                framework,
                str(size),
                "--tools",
                str(args.tools),
                "--latency",
                str(args.latency),
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                outcome: dict[str, Any] = {"error": done.stderr.strip().splitlines()[-1:]}
            else:
                outcome = json.loads(done.stdout.strip().splitlines()[-1])
            results.setdefault(framework, {})[str(size)] = outcome
            print(f"  {framework} N={size}: {outcome}", file=sys.stderr)
    out: dict[str, Any] = {}
    for framework, by_size in results.items():
        for label, stats in by_size.items():
            if "wall_over_ideal" in stats:
                out[f"{framework}_{label}_wall_over_ideal"] = stats["wall_over_ideal"]
    out["details"] = results
    if args.part in ("all", "engines"):
        out.update(_engines(args))
    out["machine"] = machine()
    out["machine"]["open_files_hard_limit"] = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    out["settings"] = {"tools": args.tools, "latency_s": args.latency}
    if args.json:
        print(json.dumps(out))
        return
    print(
        f"Concurrent workflows ({args.tools} tool steps + answer = {args.tools + 1} model calls"
        f" of {args.latency * 1000:.0f} ms; ideal {(args.tools + 1) * args.latency:.2f} s)"
    )
    rows: list[list[Any]] = []
    for framework, by_size in results.items():
        for label, s in by_size.items():
            if "error" in s:
                rows.append([framework, label, "-", "-", "-", "-", "-", str(s["error"])])
                continue
            rows.append(
                [
                    framework,
                    label,
                    s["wall_s"],
                    f"{s['wall_over_ideal']:.2f}x",
                    s["cpu_us_per_turn"],
                    s["peak_kb_per_workflow"],
                    s["events_per_s"],
                    "",
                ]
            )
    print_table(
        ["framework", "N", "wall s", "vs ideal", "cpu us/turn", "peak KB/wf", "events/s", "note"],
        rows,
    )
    if "engines" in out:
        print(
            f"\nBatch engines ({args.batch_size} workflows, {args.batch_concurrency} at once"
            " per worker process)"
        )
        engine_rows = [
            [
                label,
                e.get("wall_s", "-"),
                e.get("throughput_per_s", "-"),
                e.get("cores_used", "-"),
                e.get("workflows_per_cpu_s", "-"),
                e.get("failed", "-"),
            ]
            for label, e in out["engines"].items()
        ]
        headers = ["engine", "wall s", "workflows/s", "cores used", "wf/CPU s", "failed"]
        print_table(headers, engine_rows)
        print(f"ray_speedup_2 (2 workers over 1): {out.get('ray_speedup_2')}")
    print(f"\nmachine: {json.dumps(out['machine'])}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
