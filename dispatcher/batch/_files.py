"""The batch's two files: the tasks to run (JSONL in) and the results so far (JSONL out).

A results file is appended to one whole line per `os.write` on an `O_APPEND` descriptor, so a
killed batch leaves complete lines plus, at worst, one torn last line; reading ignores (and
the next writer cuts off) that torn tail, and every id with a complete line counts as done.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatcher._model_json import loads_json
from dispatcher._user_files import check_regular_file, read_user_text
from dispatcher.errors import ConfigError

__all__ = ["BatchTask", "ResultsFile", "finished_ids", "read_tasks"]

RESULT_KEYS = (
    "id",
    "status",
    "answer",
    "cost_usd",
    "counterfactual_cost_usd",
    "escalations",
    "trace",
)


@dataclass(frozen=True)
class BatchTask:
    """One input line: its id, its task text, and any other keys it carried."""

    id: str
    task: str
    extra: dict[str, Any] = field(default_factory=dict)


def read_tasks(path: Path) -> list[BatchTask]:
    """Every task of a JSONL file, with an error naming the line that is wrong."""
    try:
        text = read_user_text(path)
    except FileNotFoundError:
        raise ConfigError(
            "tasks file not found", file=path, fix='pass a JSONL file of {"id", "task"} lines'
        ) from None
    tasks: list[BatchTask] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = loads_json(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"line is not JSON ({exc.msg})",
                file=where,
                fix='write one object a line, e.g. {"id": "q1", "task": "..."}',
            ) from None
        if not isinstance(data, dict):
            raise ConfigError("line is not a JSON object", file=where, fix='use {"id", "task"}')
        task_id, task = data.get("id"), data.get("task")
        if isinstance(task_id, bool) or not isinstance(task_id, str | int) or task_id == "":
            raise ConfigError(
                "each line needs an `id` (a non-empty string or an integer)",
                file=where,
                field="id",
                fix="give every task a unique id: results and resuming are keyed by it",
            )
        if not isinstance(task, str) or not task.strip():
            raise ConfigError("each line needs a non-empty `task` string", file=where, field="task")
        key = str(task_id)
        if key in seen:
            raise ConfigError(
                f"id {key!r} is used twice (first on line {seen[key]})",
                file=where,
                field="id",
                fix="make the ids unique",
            )
        seen[key] = number
        extra = {k: v for k, v in data.items() if k not in ("id", "task")}
        tasks.append(BatchTask(key, task, extra))
    if not tasks:
        raise ConfigError(
            "the tasks file has no tasks", file=path, fix='write one {"id", "task"} object a line'
        )
    return tasks


_LINE_START = b'{"id": '  # json.dumps of a result: its first key is always the id


def _complete_lines(path: Path) -> tuple[list[bytes], int]:
    """The complete lines of a results file and the byte length they span."""
    check_regular_file(path)  # /dev/zero would be read forever
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1  # a torn last line (no newline) is not a result
    tail = data[end:]
    # Every results line starts with _LINE_START: a tail that does not is no torn write but
    # a file that is not ours, and cutting it would destroy it.
    if tail and not (tail.startswith(_LINE_START) or _LINE_START.startswith(tail)):
        raise ConfigError(
            "this file does not end with a results line (its last line has no newline and "
            "is not the start of one)",
            file=path,
            fix="is --out the file you meant? pass a new file or one written by `dispatcher batch`",
        )
    return data[:end].splitlines(), end


def finished_ids(path: Path, *, redo_errors: bool = False) -> set[str]:
    """Ids that already have a result line (`redo_errors`: except those whose status is
    `error`, i.e. the run raised instead of finishing)."""
    lines, _end = _complete_lines(path)
    latest: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = loads_json(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ConfigError(
                "a results line is not JSON",
                file=f"{path}:{number}",
                fix="delete or repair that line (only a torn last line is ignored)",
            ) from None
        if not isinstance(data, dict) or "id" not in data:
            raise ConfigError(
                "a results line has no `id`",
                file=f"{path}:{number}",
                fix="is --out pointing at another file? results are written by `dispatcher batch`",
            )
        latest[str(data["id"])] = str(data.get("status"))
    return {
        task_id for task_id, status in latest.items() if not (redo_errors and status == "error")
    }


class ResultsFile:
    """Append-only results: one `os.write` per line, after cutting a torn tail off."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _lines, end = _complete_lines(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size > end:
            os.truncate(path, end)

    def append(self, result: dict[str, Any]) -> None:
        first = {"id": result["id"], **result}  # starts with _LINE_START, whatever the order
        # default=str: a runner's Path or other value is written as text, not a TypeError.
        text = json.dumps(first, ensure_ascii=False, default=str)
        try:
            line = (text + "\n").encode("utf-8")
        except UnicodeEncodeError:  # half a surrogate pair (a model's "\ud800"): escaped
            line = (json.dumps(first, default=str) + "\n").encode("ascii")
        written = os.write(self._fd, line)
        while written < len(line):  # a regular file takes it whole; a short write is resumed
            written += os.write(self._fd, line[written:])

    def close(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
