"""A runner for Ray-engine tests: the task "die" kills its worker process outright."""

from __future__ import annotations

import os
from typing import Any

import anyio

from dispatcher.batch import BatchTask, TaskRunner


async def _run(task: BatchTask) -> dict[str, Any]:
    if task.task == "die":
        os._exit(1)  # the worker process dies, as on an out-of-memory kill
    await anyio.sleep(0.01)
    return {
        "id": task.id,
        "status": "ok",
        "answer": task.task,
        "cost_usd": 0.0,
        "counterfactual_cost_usd": 0.0,
        "escalations": 0,
        "trace": None,
    }


class DyingFactory:
    def __call__(self) -> TaskRunner:
        return _run
