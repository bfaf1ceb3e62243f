"""The batch-engine half of scale.py: N scripted workflows through `dispatcher.batch`, on the
local engine and on Ray with 1 and 2 workers, measured as throughput (workflows per second).

Each workflow is `Dispatcher.run` with a router (no dispatcher model turn), `tools` tool
steps and an answer; every model call waits `latency` seconds. Ray workers import this
module by name, so the benchmarks folder is put on PYTHONPATH before Ray starts.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@dataclass(frozen=True)
class ScriptedWorkflowFactory:
    """Builds, once per worker process, the runner of one scripted workflow per task."""

    trace_dir: str
    tools: int
    latency: float

    def __call__(self) -> Any:
        return _ScriptedWorkflowRunner(Path(self.trace_dir), self.tools, self.latency)


class _ScriptedWorkflowRunner:
    def __init__(self, trace_dir: Path, tools: int, latency: float) -> None:
        import anyio

        if str(HERE) not in sys.path:
            sys.path.insert(0, str(HERE))
        from _dispatcher_side import DispatcherRouterWorkload

        async def wait(turn: int) -> None:
            await anyio.sleep(latency)

        self._dispatcher = DispatcherRouterWorkload(trace_dir, steps=tools, hook=wait).dispatcher
        self._cpu_started = time.process_time()

    async def __call__(self, task: Any) -> dict[str, Any]:
        from dispatcher.batch import result_line

        line = result_line(task.id, await self._dispatcher.run(task.task))
        # Which process ran it and the CPU that process has used on runs so far: the
        # machine is shared, so the CPU each worker actually got is reported with the speed.
        line["pid"] = os.getpid()
        line["worker_cpu_s"] = time.process_time() - self._cpu_started
        return line


def _start_ray(workers: int) -> Any:
    import ray

    from dispatcher.batch._ray import _start

    _start(ray, None, workers)
    return ray


def measure(
    engine: str, workers: int, size: int, tools: int, latency: float, concurrency: int
) -> dict[str, Any]:
    """One batch of `size` workflows; run in a fresh process (see scale.py --one-engine)."""
    from dispatcher.batch import run_batch

    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p
    )
    with tempfile.TemporaryDirectory(prefix="dispatcher-batch-bench-") as folder:
        root = Path(folder)
        tasks, out = root / "tasks.jsonl", root / "results.jsonl"
        with tasks.open("w") as file:
            for n in range(size):
                file.write(json.dumps({"id": f"w{n}", "task": "convert"}) + "\n")
        factory = ScriptedWorkflowFactory(str(root / "traces"), tools, latency)
        (root / "traces").mkdir()
        ray = _start_ray(workers) if engine == "ray" else None
        started = time.perf_counter()
        summary = run_batch(
            tasks,
            out,
            factory,
            engine="ray" if engine == "ray" else "local",
            workers=workers,
            concurrency=concurrency,
        )
        wall = time.perf_counter() - started
        if ray is not None:
            ray.shutdown()
        traces = sum(1 for _ in (root / "traces").glob("*.jsonl"))
        worker_cpu: dict[int, float] = {}
        for text in out.read_text().splitlines():
            line = json.loads(text)
            pid = line["pid"]
            worker_cpu[pid] = max(worker_cpu.get(pid, 0.0), line["worker_cpu_s"])
    # Ray itself starts before the clock (a cluster is started once, not per batch); its
    # worker processes start inside it, as they do for every `dispatcher batch`.
    return {
        "engine": engine,
        "workers": workers,
        "workflows": size,
        "concurrency_per_worker": concurrency,
        "failed": summary.failed,
        "traces": traces,
        "wall_s": round(wall, 2),
        "throughput_per_s": round(size / wall, 1),
        "worker_cpu_s": round(sum(worker_cpu.values()), 2),
        # Cores the workers actually got (CPU / wall): on an idle 2-core machine up to 1 per
        # worker; other users' load shows up here.
        "cores_used": round(sum(worker_cpu.values()) / wall, 2),
        "workflows_per_cpu_s": round(size / max(sum(worker_cpu.values()), 1e-9), 1),
    }
