"""The local engine: every task on this process's event loop, `concurrency` at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio

from dispatcher.batch._files import BatchTask
from dispatcher.batch._runner import RunnerFactory, TaskRunner, run_task

__all__ = ["run_chunk", "run_local"]

ResultCallback = Callable[[dict[str, Any]], None]


async def run_chunk(
    runner: TaskRunner, tasks: Sequence[BatchTask], concurrency: int, on_result: ResultCallback
) -> None:
    """Run `tasks` concurrently (at most `concurrency` at once), reporting each result."""
    limit = anyio.Semaphore(max(1, concurrency))

    async def one(task: BatchTask) -> None:
        async with limit:
            on_result(await run_task(runner, task))

    async with anyio.create_task_group() as group:
        for task in tasks:
            group.start_soon(one, task)


def run_local(
    tasks: Sequence[BatchTask],
    factory: RunnerFactory,
    on_result: ResultCallback,
    *,
    concurrency: int,
) -> None:
    """Build the runner once and run every task in this process."""
    runner = factory()
    anyio.run(run_chunk, runner, tasks, concurrency, on_result)
