"""Run id, group and outcome from the fields that published datasets use for them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dispatcher.errors import DataError

__all__ = ["record_group", "record_id", "record_label", "strong_label"]

_LABEL_HINT = (
    'add "success": true|false to each run (a "reward" of 1/0 or "resolved": true|false also works)'
)


def _truthy(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        # NaN and infinities (which json.loads reads) say nothing about the outcome
        return value >= 1.0 - 1e-9 if math.isfinite(value) else None
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.lower() in {"true", "1", "yes"}
    return None


def record_label(record: Mapping[str, Any], file: str | Path, line: int) -> bool:
    """`success`, else `reward` == 1, else `resolved` (also inside `info`)."""
    info = record.get("info")
    sources: list[Mapping[str, Any]] = [record, info] if isinstance(info, Mapping) else [record]
    for source in sources:
        for key in ("success", "reward", "resolved"):
            if key in source:
                label = _truthy(source[key])
                if label is None:
                    raise DataError(
                        f"{key!r} is not a usable outcome: {source[key]!r}", file=file, line=line
                    )
                return label
    raise DataError(f"no outcome for this run; {_LABEL_HINT}", file=file, line=line)


def strong_label(record: Mapping[str, Any]) -> bool | None:
    value = record.get("strong_success")
    return None if value is None else _truthy(value)


def record_id(record: Mapping[str, Any], position: int) -> str:
    if record.get("id") is not None:
        return str(record["id"])
    for key in ("task_id", "instance_id"):
        if record.get(key) is not None:
            trial = record.get("trial")
            return f"{record[key]}-{trial}" if trial is not None else str(record[key])
    return f"run-{position}"


def record_group(record: Mapping[str, Any], run_id: str) -> str:
    for key in ("group", "task_id", "instance_id"):
        if record.get(key) is not None:
            return str(record[key])
    return run_id
