"""Load labelled runs from any supported format, detecting which one when not told.

Steps of other agents' runs (our JSONL, OpenAI chat, mini-swe-agent/SWE-agent logs) also get
the progress signals their observation text states (test counts, SQL error class, exit code,
exception; see `dispatcher.detectors._observed_signals`), so they feed the same detectors as
our toolkits' signals do; signals a step already carries win. Our own traces are replayed as
recorded: the worker loop does not read signals from text (too slow for every step), and a
replay should see what the live detectors saw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, get_args

from dispatcher._model_json import loads_json
from dispatcher._user_files import as_path, read_user_text
from dispatcher.detectors._observed_signals import with_observed_signals
from dispatcher.errors import DataError
from dispatcher.trajectories._labels import record_group, record_id
from dispatcher.trajectories._labels_file import apply_labels
from dispatcher.trajectories._model import Trajectory, parse_run
from dispatcher.trajectories._openai import chat_messages, import_openai_record
from dispatcher.trajectories._swe import (
    import_mini_swe_record,
    import_swe_agent_record,
    is_mini_swe,
)
from dispatcher.trajectories._trace import import_traces

__all__ = ["FORMATS", "TrajectoryFormat", "detect_format", "load_trajectories"]

TrajectoryFormat = Literal["jsonl", "openai", "swe", "trace"]
FORMATS: tuple[str, ...] = get_args(TrajectoryFormat)

_FORMAT_HELP = (
    "jsonl (ours: one run a line with id/group/success/steps), openai (chat messages with "
    "tool_calls, e.g. tau-bench), swe (mini-swe-agent messages or SWE-agent trajectory), "
    "trace (dispatcher trace events)"
)


def _records(path: Path) -> Iterator[tuple[int | None, Any]]:
    """(line number or None, parsed JSON) for a JSON list, a JSON object, or JSONL."""
    text = read_user_text(path, data=True)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = loads_json(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON ({exc.msg})", file=path, line=exc.lineno) from None
        if not isinstance(data, list):
            raise DataError("expected a JSON list of runs", file=path)
        for item in data:
            yield None, item
        return
    if stripped.startswith("{") and "\n{" not in stripped:
        try:
            whole = loads_json(text)
        except json.JSONDecodeError:
            pass  # not one object: read it as JSONL below, which names the bad line
        else:
            yield 1, whole
            return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, loads_json(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one run "
                "as a JSON object",
                file=path,
                line=number,
            ) from None


def _swe_files(path: Path) -> list[Path]:
    """The run files of a folder of SWE-agent/mini-swe-agent logs (one run per file), flat or
    one folder per instance (``OUT/<instance>/<instance>.traj[.json]``, as both agents write
    them)."""
    return sorted(
        p
        for pattern in ("*", "*/*")
        for p in path.glob(pattern)
        if p.name.endswith((".traj.json", ".traj")) and p.is_file()
    )


def _folder_records(path: Path) -> Iterator[tuple[Path, int | None, Any]]:
    """Records of every run file in a folder; the instance id defaults to the file name."""
    for file in _swe_files(path):
        for line, record in _records(file):
            if isinstance(record, Mapping) and record.get("instance_id") is None:
                name = file.name.removesuffix(".json").removesuffix(".traj")
                record = {**record, "instance_id": name}
            yield file, line, record


def _record_format(record: Any) -> TrajectoryFormat | None:
    if not isinstance(record, Mapping):
        return None
    if "kind" in record and "run_id" in record:
        return "trace"
    if "steps" in record:
        return "jsonl"
    messages = chat_messages(record)
    if messages is not None:
        return "swe" if is_mini_swe(messages) else "openai"
    if isinstance(record.get("trajectory"), list):
        return "swe"
    return None


def detect_format(path: str | Path) -> TrajectoryFormat:
    """The format of a file; a folder holds traces, or `*.traj.json` logs (swe)."""
    path = as_path(path)
    if path.is_dir():
        if _swe_files(path):
            return "swe"
        _traces_only(path)
        return "trace"
    for _, record in _records(path):
        found = _record_format(record)
        if found is None:
            raise DataError(
                f"cannot tell the format of this file; pass --format, one of: {_FORMAT_HELP}",
                file=path,
            )
        return found
    raise DataError("the file is empty", file=path)


_FOLDER_HELP = (
    "a folder is read as dispatcher traces (*.jsonl) or SWE-agent / mini-swe-agent logs "
    "(*.traj, *.traj.json, flat or one folder per instance)"
)


def _traces_only(folder: Path) -> None:
    """A folder without agent logs holds traces: runs of another format are a mistake.

    Only the first line of the first file is read (a folder of traces may be large).
    """
    first = next(iter(sorted(folder.glob("*.jsonl"))), None)
    if first is None:
        return
    try:
        with first.open("rb") as handle:
            record = json.loads(handle.readline())
    except (OSError, ValueError):
        return  # reading it as a trace names the problem
    found = _record_format(record)
    if found not in (None, "trace"):
        raise DataError(
            f"holds {found} runs, not dispatcher trace events: {_FOLDER_HELP}; pass such a "
            "file itself with --data (one file per call)",
            file=first,
        )


def load_trajectories(
    path: str | Path,
    format: TrajectoryFormat | None = None,
    *,
    labels: Mapping[str, bool] | None = None,
    labels_source: Path | None = None,
) -> list[Trajectory]:
    """Every run in `path`; malformed input raises DataError naming the file and line.

    With `labels` (run or instance id -> success, see `read_labels`) the outcomes come from
    there, not from the runs, and a run without a label is an error naming it.
    """
    path = as_path(path)
    if not path.exists():
        raise DataError("no such file or folder", file=path)
    kind = format or detect_format(path)
    if kind not in FORMATS:
        raise DataError(f"unknown format {kind!r}; use one of: {_FORMAT_HELP}", file=path)
    if path.is_dir() and kind in ("jsonl", "openai"):
        raise DataError(f"{_FOLDER_HELP}; pass a {kind} file itself with --data", file=path)
    if kind == "trace":
        runs = import_traces(path)
    else:
        runs = []
        if path.is_dir():
            records: Iterator[tuple[Path, int | None, Any]] = _folder_records(path)
        else:
            records = ((path, line, record) for line, record in _records(path))
        for position, (file, line, record) in enumerate(records):
            where = line if line is not None else position + 1
            if labels is not None and isinstance(record, Mapping):
                record = _with_label(record, position, labels)
            runs.append(_with_observed_signals(_import(kind, record, position, file, where)))
    if not runs:
        raise DataError("no runs found", file=path)
    runs = _unique_ids(runs)
    if labels is not None:
        runs = apply_labels(runs, labels, labels_source or path)
    return runs


def _with_label(record: Mapping[str, Any], position: int, labels: Mapping[str, bool]) -> Any:
    """The record with its outcome from `labels` (a placeholder when missing: reported later)."""
    run_id = record_id(record, position)
    label = labels.get(run_id, labels.get(record_group(record, run_id)))
    return {**record, "success": bool(label)}


def _with_observed_signals(run: Trajectory) -> Trajectory:
    return replace(run, steps=tuple(with_observed_signals(step) for step in run.steps))


def _import(
    kind: TrajectoryFormat, record: Any, position: int, path: Path, line: int
) -> Trajectory:
    if kind == "jsonl":
        return parse_run(record, path, line)
    if not isinstance(record, Mapping):
        raise DataError("expected a JSON object for each run", file=path, line=line)
    messages = chat_messages(record)
    if messages is None and isinstance(record.get("trajectory"), list):
        return import_swe_agent_record(record, position, path, line)
    if kind == "openai" or (messages is not None and not is_mini_swe(messages)):
        return import_openai_record(record, position, path, line)  # tool calls, not bash blocks
    return import_mini_swe_record(record, position, path, line)


def _unique_ids(runs: list[Trajectory]) -> list[Trajectory]:
    seen: dict[str, int] = {}
    unique = []
    for run in runs:
        count = seen.get(run.id, 0)
        seen[run.id] = count + 1
        if count:
            run = Trajectory(
                id=f"{run.id}#{count + 1}",
                group=run.group,
                success=run.success,
                steps=run.steps,
                strong_success=run.strong_success,
            )
        unique.append(run)
    return unique
