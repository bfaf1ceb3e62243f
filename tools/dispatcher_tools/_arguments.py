"""Argument checks shared by the toolkits' constructors: a wrong value is a ConfigError."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from dispatcher.errors import ConfigError

__all__ = ["checked_number", "checked_path"]


def checked_path(value: Any, field: str, fix: str) -> Path:
    """`value` as a Path (expanded), if it is a str or an os.PathLike."""
    if not isinstance(value, str | os.PathLike):
        raise ConfigError(f"must be a path, got {type(value).__name__}", field=field, fix=fix)
    return Path(value).expanduser()


def checked_number(value: Any, field: str, *, whole: bool, low: float) -> None:
    """A finite number (an int when `whole`) of at least `low`; booleans are not numbers."""
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        kind = "a whole number" if whole else "a finite number"
        raise ConfigError(
            f"must be {kind}, got {value!r}", field=field, fix=f"e.g. {field}={max(low, 1):g}"
        )
    if value < low:
        raise ConfigError(
            f"must be at least {low:g}, got {value!r}", field=field, fix=f"e.g. {field}={low:g}"
        )
