"""Outcomes kept apart from the runs, as every SWE-bench harness writes them (`--labels FILE`).

Accepted files:

- JSONL, one ``{"instance_id"|"id": ..., "resolved"|"success": true|false}`` a line (also a
  JSON list of such objects, ``reward`` 1/0 works too);
- a SWE-bench harness report: ``{"resolved_ids": [...], "unresolved_ids": [...], ...}``
  (``completed_ids``/``error_ids``/``empty_patch_ids`` not resolved count as failed), the
  per-instance form ``{"<instance_id>": {"resolved": true}, ...}``, or the older lists by
  status ``{"resolved": [...], "applied": [...], ...}`` (ids not in ``resolved`` failed);
- a ``results_summary.json``: ``{"instances": [{"instance_id", "resolved"}, ...]}``.

A run is matched by its id, else by its group (the instance id of SWE-bench runs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dispatcher._model_json import loads_json
from dispatcher._user_files import as_path, read_user_text
from dispatcher.errors import DataError
from dispatcher.trajectories._labels import record_label
from dispatcher.trajectories._model import Trajectory

__all__ = ["apply_labels", "read_labels"]

_ID_KEYS = ("instance_id", "id", "task_id")
_FAILED_LISTS = ("unresolved_ids", "error_ids", "empty_patch_ids", "incomplete_ids")
_FIX = (
    'write one {"instance_id": "...", "resolved": true|false} per line, or pass a SWE-bench '
    "harness report / results_summary.json"
)


def read_labels(path: str | Path) -> dict[str, bool]:
    """Run or instance id -> success, from any of the accepted label files."""
    path = as_path(path)
    if not path.is_file():
        raise DataError("no such labels file", file=path)
    text = read_user_text(path, data=True)
    try:
        whole: Any = loads_json(text)
    except json.JSONDecodeError:
        whole = None
        records: list[tuple[int, Any]] = []
        for number, row in enumerate(text.splitlines(), start=1):
            if not row.strip():
                continue
            try:
                records.append((number, loads_json(row)))
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"not valid JSON ({exc.msg}); {_FIX}", file=path, line=number
                ) from None
    if isinstance(whole, Mapping):
        if isinstance(whole.get("instances"), list):
            records = [(0, item) for item in whole["instances"]]
        elif isinstance(whole.get("resolved_ids"), list):
            return _from_report(whole, path)
        elif isinstance(whole.get("resolved"), list):  # older harness: lists by status
            return _from_status_lists(whole)
        elif whole and all(isinstance(v, Mapping) for v in whole.values()):
            records = [(0, {"instance_id": key, **value}) for key, value in whole.items()]
        else:
            records = [(1, whole)]
    elif isinstance(whole, list):
        records = list(enumerate(whole, start=1))
    labels: dict[str, bool] = {}
    first_line: dict[str, int] = {}
    for line, record in records:
        if not isinstance(record, Mapping):
            raise DataError(f"expected a JSON object; {_FIX}", file=path, line=line or None)
        key = next((str(record[k]) for k in _ID_KEYS if record.get(k) is not None), None)
        if key is None:
            raise DataError(
                'a label needs "instance_id" or "id"; ' + _FIX, file=path, line=line or None
            )
        label = record_label(record, path, line)
        if labels.get(key, label) != label:
            # Which outcome is right is the user's call, not the order of the lines.
            earlier = f"line {first_line[key]}" if first_line[key] else "an earlier entry"
            raise DataError(
                f"{key!r} is labelled {label} here and {labels[key]} on {earlier}; "
                "keep one label per run",
                file=path,
                line=line or None,
            )
        labels[key] = label
        first_line.setdefault(key, line)
    if not labels:
        raise DataError(f"no labels found; {_FIX}", file=path)
    return labels


def _ids(report: Mapping[str, Any], key: str, path: Path) -> list[str]:
    """The instance ids a report lists under `key` (none when it is missing or null)."""
    value = report.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(
            f"{key!r} must be a list of instance ids, got {value!r:.60}",
            file=path,
            fix="write the report as the SWE-bench harness does, e.g. "
            '{"resolved_ids": ["owner__repo-1"], "unresolved_ids": []}',
        )
    return [str(i) for i in value]


def _from_report(report: Mapping[str, Any], path: Path) -> dict[str, bool]:
    resolved = _ids(report, "resolved_ids", path)
    both = set(resolved) & set(_ids(report, "unresolved_ids", path))
    if both:
        raise DataError(
            f"{sorted(both)[0]!r} is in resolved_ids and in unresolved_ids "
            f"({len(both)} id(s) are in both); fix the report, or write a JSONL labels file",
            file=path,
        )
    labels = {i: False for key in _FAILED_LISTS for i in _ids(report, key, path)}
    for key in ("completed_ids", "submitted_ids"):
        for i in _ids(report, key, path):
            labels.setdefault(i, False)
    labels.update(dict.fromkeys(resolved, True))
    return labels


def _from_status_lists(report: Mapping[str, Any]) -> dict[str, bool]:
    labels = {
        str(i): False
        for key, ids in report.items()
        if key != "resolved" and isinstance(ids, list)
        for i in ids
    }
    labels.update({str(i): True for i in report["resolved"]})
    return labels


def apply_labels(
    runs: Sequence[Trajectory], labels: Mapping[str, bool], source: Path
) -> list[Trajectory]:
    """Each run with its outcome from `labels`; runs without one are an error naming them."""
    out: list[Trajectory] = []
    missing: list[str] = []
    for run in runs:
        label = labels.get(run.id, labels.get(run.group))
        if label is None:
            missing.append(run.id)
            continue
        out.append(replace(run, success=label))
    if missing:
        shown = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise DataError(
            f"{len(missing)} run(s) have no label: {shown}; add them to the labels file "
            "(or leave those runs out of --data)",
            file=source,
        )
    return out
