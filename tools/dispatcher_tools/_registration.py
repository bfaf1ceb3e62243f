"""The entry point (`dispatcher.tools` group): registers the built-in toolkits by name.

A toolkit factory takes the toolkit's options from the user's config and returns its tools;
bad options raise `ConfigError` naming the option and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, PositiveFloat, PositiveInt, ValidationError

from dispatcher.errors import ConfigError
from dispatcher.tools.tool import Tool
from dispatcher_tools.sql import SqlToolkit
from dispatcher_tools.workspace import WorkspaceToolkit

__all__ = ["ToolkitFactory", "ToolkitRegistry", "register", "sql_tools", "workspace_tools"]

ToolkitFactory = Callable[[Mapping[str, Any]], Sequence[Tool]]
_Options = TypeVar("_Options", bound=BaseModel)


class ToolkitRegistry(Protocol):
    """The part of the registry this package needs."""

    def register_toolkit(self, name: str, factory: ToolkitFactory) -> None: ...


class _SqlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: Path
    max_rows: PositiveInt = 200
    max_bytes: PositiveInt = 64_000
    time_limit_s: PositiveFloat = 2.0
    sample_rows: bool = False


class _WorkspaceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path
    command_timeout_s: PositiveFloat = 60.0
    cpu_s: PositiveInt | None = None
    memory_mb: PositiveInt = 2048
    file_size_mb: PositiveInt = 64
    max_processes: PositiveInt = 64
    max_output_bytes: PositiveInt = 16_000
    isolation: str = "auto"
    env: dict[str, str] = {}
    sandbox_uid: PositiveInt = 65534


def _parse(toolkit: str, model: type[_Options], options: Mapping[str, Any]) -> _Options:
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        error = exc.errors()[0]
        option = ".".join(str(part) for part in error["loc"]) or None
        known = ", ".join(model.model_fields)
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(option), list(model.model_fields), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            message, fix = (
                "unknown option",
                f"{hint}check its spelling or remove it; the options are: {known}",
            )
        elif error["type"] == "missing":
            message, fix = "required option is missing", f"add `{option}` to the toolkit options"
        else:
            message, fix = error["msg"], f"fix the value of `{option}`"
        raise ConfigError(message, entry=f"toolkit {toolkit}", field=option, fix=fix) from None


def sql_tools(options: Mapping[str, Any]) -> Sequence[Tool]:
    """Factory for ``sql``: options are `SqlToolkit`'s arguments (``database`` required)."""
    parsed = _parse("sql", _SqlOptions, options)
    return SqlToolkit(**parsed.model_dump()).tools()


def workspace_tools(options: Mapping[str, Any]) -> Sequence[Tool]:
    """Factory for ``workspace``: options are `WorkspaceToolkit`'s arguments (``root`` required)."""
    parsed = _parse("workspace", _WorkspaceOptions, options)
    return WorkspaceToolkit(**parsed.model_dump()).tools()


def register(registry: ToolkitRegistry) -> None:
    """Register the ``sql`` and ``workspace`` toolkits, the same way a user's plugin would."""
    registry.register_toolkit("sql", sql_tools)
    registry.register_toolkit("workspace", workspace_tools)
