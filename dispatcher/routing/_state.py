"""Atomic JSON state files: write to a temporary file in the same folder, fsync, rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dispatcher._model_json import loads_json
from dispatcher._user_files import check_replaceable, read_user_text
from dispatcher.errors import DataError

__all__ = ["read_json_state", "write_json_state"]


def write_json_state(path: Path, state: Any) -> None:
    """Replace `path` with `state` as JSON; a crash leaves the old or the new file, never half."""
    path = check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json_state(path: Path) -> Any:
    """The JSON in `path`, or None if the file does not exist yet."""
    try:
        text = read_user_text(path, data=True)
    except FileNotFoundError:
        return None
    try:
        return loads_json(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"state file is not valid JSON ({exc.msg}); delete it to start afresh", file=path
        ) from exc
