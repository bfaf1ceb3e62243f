"""What runs one batch task: a `TaskRunner`, built once per worker process by a picklable
`RunnerFactory`, and `run_task`, which turns any failure into an `error` result line."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dispatcher.batch._files import BatchTask
from dispatcher.errors import UserError

__all__ = [
    "DispatcherRunnerFactory",
    "RunnerFactory",
    "TaskRunner",
    "error_line",
    "result_line",
    "run_task",
]


class TaskRunner(Protocol):
    """Runs one task and returns its result line (see `result_line`)."""

    def __call__(self, task: BatchTask) -> Awaitable[dict[str, Any]]: ...


# Called once in each worker process (so it must pickle: a module-level class or function).
RunnerFactory = Callable[[], TaskRunner]


def result_line(task_id: str, result: Any) -> dict[str, Any]:
    """The contract line for a finished `RunResult`."""
    return {
        "id": task_id,
        "status": result.status,
        "answer": result.answer,
        "cost_usd": result.cost_usd,
        "counterfactual_cost_usd": result.counterfactual_cost_usd,
        "escalations": result.escalations,
        "trace": str(result.trace_path) if result.trace_path else None,
    }


async def run_task(runner: TaskRunner, task: BatchTask) -> dict[str, Any]:
    """Run one task; an exception becomes an `error` line so the batch goes on."""
    try:
        result = await runner(task)
    except Exception as exc:  # (one task's failure never stops the batch)
        trace = getattr(exc, "trace_path", None)
        error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        return error_line(task, error, str(trace) if trace else None)
    if not isinstance(result, dict):  # a user's runner: its answer is checked like any other
        return error_line(
            task, f"the task runner returned {type(result).__name__}, not a result dict", None
        )
    # The line is the task's whatever id the runner wrote: resuming is keyed by it.
    return {**result, "id": task.id}


def error_line(task: BatchTask, error: str, trace: str | None) -> dict[str, Any]:
    """The output line of a task that ended without a result (the same keys as a result's)."""
    return {
        "id": task.id,
        "status": "error",
        "answer": None,
        "cost_usd": None,
        "counterfactual_cost_usd": None,
        "escalations": 0,
        "trace": trace,
        "error": error,
    }


@dataclass(frozen=True)
class DispatcherRunnerFactory:
    """Runs tasks with a registry file (live models), or an example folder (its cassette is
    replayed for every task, strictly, as `dispatcher run` does)."""

    config: str
    runs_dir: str

    def __call__(self) -> TaskRunner:
        path = Path(self.config)
        if path.is_dir():
            return _ExampleRunner(path, Path(self.runs_dir))
        return _RegistryRunner(path, Path(self.runs_dir))


class _RegistryRunner:
    def __init__(self, config: Path, runs_dir: Path) -> None:
        from dispatcher.dispatching import Dispatcher

        self._dispatcher = Dispatcher.from_config(config, runs_dir=runs_dir)

    async def __call__(self, task: BatchTask) -> dict[str, Any]:
        return result_line(task.id, await self._dispatcher.run(task.task))


class _ExampleRunner:
    def __init__(self, folder: Path, runs_dir: Path) -> None:
        from dispatcher.cassette import load_cassette
        from dispatcher.examples import load_example

        self._spec = load_example(folder)
        self._cassette = load_cassette(self._spec.cassette)
        self._runs_dir = runs_dir.resolve()
        self._spec.build_registry()  # config mistakes surface once, before any task runs

    async def __call__(self, task: BatchTask) -> dict[str, Any]:
        from dispatcher.dispatching import Dispatcher
        from dispatcher.recording import check_replay_complete, replay_factory
        from dispatcher.runner import new_run_id

        run_id = new_run_id()
        workspace = self._runs_dir / f"{run_id}.workspace"
        try:
            registry = self._spec.build_registry(workspace_dir=workspace)
            scripted, factory = replay_factory(self._cassette, strict=True)
            registry.use_models(factory)
            checks = [functools.partial(_complete, scripted, check_replay_complete)]
            dispatcher = Dispatcher(registry, runs_dir=self._runs_dir, checks=checks)
            return result_line(task.id, await dispatcher.run(task.task, run_id=run_id))
        except BaseException:
            shutil.rmtree(workspace, ignore_errors=True)
            raise


def _complete(scripted: Any, check: Callable[[Any], None], _answer: str) -> None:
    check(scripted)
