"""`run_batch`: read the tasks, skip those already in the results file, run the rest on an
engine, and append each result as it arrives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dispatcher._user_files import as_path
from dispatcher.batch._files import ResultsFile, finished_ids, read_tasks
from dispatcher.batch._progress import BatchProgress
from dispatcher.batch._runner import RunnerFactory
from dispatcher.errors import ConfigError

__all__ = ["BatchSummary", "Engine", "run_batch"]

Engine = Literal["local", "ray"]


@dataclass(frozen=True)
class BatchSummary:
    """What one `run_batch` call did."""

    total: int
    skipped: int
    ran: int
    failed: int
    cost_usd: float


def run_batch(
    tasks_path: Path,
    out_path: Path,
    factory: RunnerFactory,
    *,
    engine: Engine = "local",
    workers: int = 1,
    concurrency: int = 100,
    ray_address: str | None = None,
    redo_errors: bool = False,
) -> BatchSummary:
    """Run every task of `tasks_path` that `out_path` has no result for."""
    tasks_path, out_path = as_path(tasks_path, "tasks path"), as_path(out_path, "out path")
    if engine not in ("local", "ray"):  # anything else ran on the local engine without a word
        raise ConfigError(f"unknown engine {engine!r}", fix="use engine='local' or engine='ray'")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (workers, concurrency)):
        raise ConfigError(
            f"workers and concurrency must be integers (got {workers!r}, {concurrency!r})",
            fix="e.g. workers=2, concurrency=100",
        )
    if workers < 1 or concurrency < 1:
        raise ConfigError(
            f"--workers and --concurrency must be at least 1 (got {workers}, {concurrency})",
            fix="e.g. --workers 2 --concurrency 100",
        )
    if engine == "local" and (workers != 1 or ray_address):
        raise ConfigError(
            "--workers and --ray-address are for --engine ray (the local engine is this "
            "one process)",
            fix="add --engine ray, or drop them (use --concurrency for runs at once)",
        )
    if tasks_path.resolve() == out_path.resolve():
        raise ConfigError("--out is the tasks file", fix="write results to another file")
    tasks = read_tasks(tasks_path)
    done = finished_ids(out_path, redo_errors=redo_errors)
    todo = [task for task in tasks if task.id not in done]
    with ResultsFile(out_path) as results, BatchProgress(len(todo), len(tasks) - len(todo)) as bar:

        def record(result: dict[str, Any]) -> None:
            results.append(result)
            bar.add(result)

        if todo and engine == "ray":
            from dispatcher.batch._ray import run_ray

            run_ray(
                todo,
                factory,
                record,
                workers=workers,
                concurrency=concurrency,
                address=ray_address,
            )
        elif todo:
            from dispatcher.batch._local import run_local

            run_local(todo, factory, record, concurrency=concurrency)
    return BatchSummary(len(tasks), len(tasks) - len(todo), bar.done, bar.failed, bar.cost_usd)
