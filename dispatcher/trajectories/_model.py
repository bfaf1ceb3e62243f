"""Labelled trajectories: one agent run, its steps and whether it succeeded.

The file format (JSONL, one run a line) is the one in docs and DESIGN:

    {"id": "r1", "group": "task-7", "success": false,
     "steps": [{"action": "grep({\\"q\\": \\"x\\"})", "observation": "...", "error": false}],
     "strong_success": true}

`group` keeps runs of the same task in the same cross-validation fold; `strong_success`
(optional) says whether a strong model solved the same task. Steps may also carry the optional
`tool`, `arguments`, `text`, `signals` and `tokens` of `dispatcher.detectors.Step`; importers
write them when the source has them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatcher.detectors.base import Step
from dispatcher.errors import DataError

__all__ = [
    "Trajectory",
    "check_both_outcomes",
    "parse_run",
    "run_to_json",
    "step_from_json",
    "step_to_json",
    "write_trajectories",
]

_HINT = (
    'each line must be a JSON object like {"id": "r1", "group": "task-1", "success": true, '
    '"steps": [{"action": "...", "observation": "...", "error": false}]}'
)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """One labelled run."""

    id: str
    group: str
    success: bool
    steps: tuple[Step, ...]
    strong_success: bool | None = None


def _as_bool(value: Any, name: str, file: str | Path, line: int) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise DataError(f"{name!r} must be true or false, got {value!r}", file=file, line=line)


def _as_count(value: Any, name: str, file: str | Path, line: int) -> int:
    """A whole number of at least 0 (a float such as 12.0 is one); null is 0."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise DataError(
        f"{name!r} must be a whole number >= 0, got {value!r:.60}", file=file, line=line
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def step_from_json(data: Any, index: int, file: str | Path, line: int) -> Step:
    """A step from its JSON object; `index` is its position in the run."""
    if not isinstance(data, Mapping):
        raise DataError(
            f"step {index} must be a JSON object, got {data!r:.60}", file=file, line=line
        )
    if "action" not in data:
        raise DataError(
            f"step {index} has no 'action' (the tool call as text)", file=file, line=line
        )
    arguments = data.get("arguments")
    signals = data.get("signals") or {}
    if not isinstance(signals, Mapping):
        raise DataError(f"step {index}: 'signals' must be an object", file=file, line=line)
    tool = data.get("tool")
    return Step(
        index=index,
        action=_as_text(data["action"]),
        observation=_as_text(data.get("observation")),
        error=_as_bool(data.get("error", False), f"steps[{index}].error", file, line),
        tool=str(tool) if tool is not None else None,
        arguments=arguments if isinstance(arguments, Mapping) else None,
        text=_as_text(data.get("text")),
        signals=dict(signals),
        tokens=_as_count(data.get("tokens"), f"steps[{index}].tokens", file, line),
    )


def parse_run(data: Any, file: str | Path, line: int) -> Trajectory:
    """A run from one parsed JSONL line; problems are DataErrors naming file and line."""
    if not isinstance(data, Mapping):
        raise DataError(f"not a JSON object; {_HINT}", file=file, line=line)
    missing = [key for key in ("id", "success", "steps") if key not in data]
    if missing:
        raise DataError(f"missing {', '.join(map(repr, missing))}; {_HINT}", file=file, line=line)
    steps = data["steps"]
    if not isinstance(steps, list):
        raise DataError("'steps' must be a list", file=file, line=line)
    strong = data.get("strong_success")
    run_id = _as_text(data["id"])
    if not run_id.strip():
        raise DataError(
            f"'id' must be a non-empty run id, got {data['id']!r}; {_HINT}", file=file, line=line
        )
    return Trajectory(
        id=run_id,
        group=_as_text(data.get("group")) or run_id,
        success=_as_bool(data["success"], "success", file, line),
        steps=tuple(step_from_json(s, i, file, line) for i, s in enumerate(steps)),
        strong_success=None if strong is None else _as_bool(strong, "strong_success", file, line),
    )


def step_to_json(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": step.action,
        "observation": step.observation,
        "error": step.error,
    }
    if step.tool is not None:
        data["tool"] = step.tool
    if step.arguments is not None:
        data["arguments"] = dict(step.arguments)
    if step.text:
        data["text"] = step.text
    if step.signals:
        data["signals"] = dict(step.signals)
    if step.tokens:
        data["tokens"] = step.tokens
    return data


def run_to_json(run: Trajectory) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "group": run.group,
        "success": run.success,
        "steps": [step_to_json(s) for s in run.steps],
    }
    if run.strong_success is not None:
        data["strong_success"] = run.strong_success
    return data


def write_trajectories(path: Path, runs: Iterable[Trajectory]) -> int:
    """Write runs as JSONL; returns how many."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for run in runs:
            out.write(json.dumps(run_to_json(run), ensure_ascii=False) + "\n")
            count += 1
    return count


def check_both_outcomes(runs: Sequence[Trajectory], source: str | Path) -> None:
    """Evaluation needs failed and successful runs; say clearly when one class is missing."""
    if not runs:
        raise DataError("no runs found", file=source)
    failed = sum(1 for r in runs if not r.success)
    if failed == 0 or failed == len(runs):
        kind = "successful" if failed == 0 else "failed"
        other = "failed" if failed == 0 else "successful"
        raise DataError(
            f"all {len(runs)} runs are {kind}: measuring a detector needs both failed and "
            f"successful runs (add {other} runs, or check how `success` is derived)",
            file=source,
        )
