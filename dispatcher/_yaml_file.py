"""Edit a user's YAML file in place, keeping its comments, key order and quoting (ruamel.yaml)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from dispatcher._user_files import check_replaceable, read_user_text
from dispatcher.errors import ConfigError

__all__ = ["edit_yaml_file", "section"]


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip mode: comments and order survive a load and dump
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    return yaml


def edit_yaml_file(path: Path, edit: Callable[[MutableMapping[str, Any]], None]) -> None:
    """Load `path` (an empty mapping if missing), let `edit` change it, write it back atomically."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    yaml = _round_trip()
    path = check_replaceable(path)
    data: Any = CommentedMap()
    if path.is_file():
        try:
            data = yaml.load(read_user_text(path))
        except YAMLError as exc:
            # `problem` (a parser's) or `reason` (the reader's: a control character); str(exc)
            # would name ruamel's "<unicode string>" instead of the file.
            problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or exc
            raise ConfigError(
                f"not valid YAML{_where(exc)}: {problem}",
                file=path,
                fix="fix the YAML syntax at that place, then run again",
            ) from None
        if data is None:
            data = CommentedMap()
    if not isinstance(data, MutableMapping):
        raise ConfigError(
            "the top level must be a mapping", file=path, fix="start the file with `dispatcher:`"
        )
    edit(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def section(data: MutableMapping[str, Any], key: str, *, file: Path) -> MutableMapping[str, Any]:
    """`data[key]` as a mapping, created (at the end) when absent or empty."""
    from ruamel.yaml.comments import CommentedMap

    value = data.get(key)
    if value is None:
        value = data[key] = CommentedMap()
    if not isinstance(value, MutableMapping):
        raise ConfigError(f"`{key}:` must be a mapping", file=file, field=key)
    return value


def _where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        position = getattr(exc, "position", None)  # the reader counts characters
        return f" at character {position + 1}" if isinstance(position, int) else ""
    return f" at line {mark.line + 1}, column {mark.column + 1}"
