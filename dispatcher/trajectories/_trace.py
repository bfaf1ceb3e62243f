"""Import this project's own run traces (JSONL of trace events) as trajectories.

- every `tool_call` event of a worker agent is a step: `action` is ``tool(canonical JSON
  arguments)``, `observation` its output, `error` is ``not ok``, `signals` are kept;
- a worker `model_call` that called no tool is a text step with the model's text; the text of
  a model call that did call tools becomes the `text` of its first tool step;
- calls by agents that started with role ``dispatcher`` or ``overwatch`` are left out: the
  detectors watch workers;
- `success` is ``run_finished.status == "ok"``; `group` is the run's task text; `id` the run id.

A file may hold one run or several (events are grouped by `run_id`); a folder means every
``*.jsonl`` in it. A run without `run_finished` has no outcome and is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatcher.detectors._actions import format_action
from dispatcher.detectors.base import Step
from dispatcher.errors import DataError
from dispatcher.trace.events import (
    AgentStarted,
    Event,
    ModelCall,
    RunFinished,
    RunStarted,
    ToolCallEvent,
)
from dispatcher.trace.reader import read_trace
from dispatcher.trajectories._model import Trajectory

__all__ = ["import_traces"]

_NOT_WATCHED = ("dispatcher", "overwatch")


@dataclass
class _Run:
    task: str = ""
    status: str | None = None
    steps: list[Step] = field(default_factory=list)
    pending_text: str = ""
    skipped_agents: set[str] = field(default_factory=set)


def _add_event(run: _Run, event: Event) -> None:
    if isinstance(event, RunStarted):
        run.task = event.task
    elif isinstance(event, RunFinished):
        run.status = event.status
    elif isinstance(event, AgentStarted) and event.role in _NOT_WATCHED:
        run.skipped_agents.add(event.agent)
    elif isinstance(event, ModelCall) and event.agent not in run.skipped_agents:
        if event.tool_calls:
            run.pending_text = event.text
        elif event.text.strip():
            text = event.text.strip()
            run.steps.append(Step(index=len(run.steps), action=text, text=text))
    elif isinstance(event, ToolCallEvent) and event.agent not in run.skipped_agents:
        arguments = event.arguments if isinstance(event.arguments, dict) else None
        run.steps.append(
            Step(
                index=len(run.steps),
                action=format_action(event.tool, event.arguments),
                observation=event.output if event.ok else (event.error or event.output),
                error=not event.ok,
                tool=event.tool,
                arguments=arguments,
                text=run.pending_text,
                signals=dict(event.signals),
            )
        )
        run.pending_text = ""


def import_traces(path: Path) -> list[Trajectory]:
    """Trajectories from one trace file or a folder of them."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise DataError("no *.jsonl trace files in this folder", file=path)
    runs: dict[str, _Run] = {}
    for file in files:
        for event in read_trace(file):
            _add_event(runs.setdefault(event.run_id, _Run()), event)
    trajectories = []
    for run_id, run in runs.items():
        if run.status is None:
            raise DataError(
                f"run {run_id} has no run_finished event, so its outcome is unknown "
                "(was it killed? leave it out)",
                file=path,
            )
        trajectories.append(
            Trajectory(
                id=run_id,
                group=run.task or run_id,
                success=run.status == "ok",
                steps=tuple(run.steps),
            )
        )
    return trajectories
