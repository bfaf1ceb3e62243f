"""The Ray engine: `workers` actor processes, each running many tasks at once on its own event
loop; this process only hands out chunks of tasks and writes the results as chunks come back.

Ray (the optional extra `ray`) is imported only here. Without `--ray-address` a local Ray
instance is started for the batch and stopped after it; with one, the batch joins that cluster.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from dispatcher.batch._files import BatchTask
from dispatcher.batch._local import run_chunk
from dispatcher.batch._runner import RunnerFactory, TaskRunner, error_line
from dispatcher.errors import ConfigError

__all__ = ["run_ray"]

ResultCallback = Callable[[dict[str, Any]], None]
# Results come back a chunk at a time: small enough that a killed batch loses little work,
# large enough that Ray's per-call cost (about a millisecond here) stays out of the way.
MAX_CHUNK = 50
OBJECT_STORE_BYTES = 256 * 1024 * 1024


class BatchWorker:
    """One worker process: builds the runner once, then runs chunks as they arrive."""

    def __init__(self, factory: RunnerFactory, concurrency: int) -> None:
        self._runner: TaskRunner = factory()
        self._concurrency = concurrency

    async def run_chunk(self, tasks: list[BatchTask]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        await run_chunk(self._runner, tasks, self._concurrency, results.append)
        return results


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the Ray engine needs the `ray` extra",
            fix='pip install -e ".[ray]" (from the dispatcher repository root), '
            "or use --engine local",
        ) from None
    return ray


def _start(ray: Any, address: str | None, workers: int) -> bool:
    """Connect to (or start) Ray; True when this call started it (so it must stop it)."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": "WARNING"}
    if address:
        options["address"] = address
    else:
        options["num_cpus"] = max(workers, os.cpu_count() or 1)
        # Results are small: a modest object store keeps a shared machine's memory free.
        options["object_store_memory"] = OBJECT_STORE_BYTES
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"cannot start or reach Ray ({exc})",
            fix="check --ray-address (e.g. ray://HEAD:10001 or auto), or omit it to start a "
            "local Ray instance",
        ) from None
    return True


def run_ray(
    tasks: Sequence[BatchTask],
    factory: RunnerFactory,
    on_result: ResultCallback,
    *,
    workers: int,
    concurrency: int,
    address: str | None = None,
) -> None:
    """Run `tasks` on `workers` Ray actors, `concurrency` at once in each."""
    ray = _import_ray()
    started = _start(ray, address, workers)
    actors: list[Any] = []
    try:
        remote = ray.remote(num_cpus=1)(BatchWorker)
        actors = [remote.remote(factory, concurrency) for _ in range(workers)]
        chunk = max(1, min(MAX_CHUNK, math.ceil(len(tasks) / workers / 2)))
        queue = deque(list(tasks[i : i + chunk]) for i in range(0, len(tasks), chunk))
        # Enough chunks in flight to keep `concurrency` runs busy in each worker.
        per_actor = max(1, math.ceil(concurrency / chunk))
        pending: dict[Any, tuple[int, list[BatchTask]]] = {}
        alive = set(range(workers))

        def submit(index: int) -> None:
            if queue:
                part = queue.popleft()
                pending[actors[index].run_chunk.remote(part)] = (index, part)

        for _ in range(per_actor):  # round by round, so a small batch is spread evenly
            for index in range(workers):
                submit(index)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                index, part = pending.pop(ref)
                try:
                    results = ray.get(ref)
                except Exception as exc:  # (a dead worker fails its chunk only)
                    results = [_lost(task, exc) for task in part]
                    alive.discard(index)
                for result in results:
                    on_result(result)
                if index in alive:
                    submit(index)
        if queue:
            raise RuntimeError("every Ray worker died; the results so far are saved")
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()


def _lost(task: BatchTask, exc: BaseException) -> dict[str, Any]:
    return error_line(task, f"the Ray worker failed: {type(exc).__name__}: {str(exc)[:300]}", None)
