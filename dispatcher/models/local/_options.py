"""Check a local model's litellm_params options at config load, with fixes a user can act on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dispatcher.errors import ConfigError

__all__ = ["check_local_options"]


def _whole(minimum: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _number(minimum: float, *, strict: bool) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return False
        return v > minimum if strict else v >= minimum

    return check


# option -> (check, what it must be, an example for the fix)
_CHECKS: dict[str, tuple[Callable[[Any], bool], str, str]] = {
    "n_ctx": (_whole(256), "a whole number of tokens >= 256", "n_ctx: 8192"),
    "n_threads": (lambda v: v is None or _whole(1)(v), "a whole number >= 1", "n_threads: 2"),
    "temperature": (_number(0.0, strict=False), "a number >= 0", "temperature: 0"),
    "seed": (_whole(0), "a whole number >= 0", "seed: 0"),
    "repeat_penalty": (_number(0.0, strict=True), "a number > 0", "repeat_penalty: 1.1"),
    "constrained": (lambda v: isinstance(v, bool), "true or false", "constrained: true"),
}


def check_local_options(options: Mapping[str, Any]) -> None:
    """Raise ConfigError for a value of the wrong type or range (names are checked elsewhere)."""
    for key, value in options.items():
        if key not in _CHECKS:
            continue
        check, what, example = _CHECKS[key]
        if not check(value):
            raise ConfigError(
                f"{key} must be {what}, got {value!r}",
                field=f"litellm_params.{key}",
                fix=f"e.g. {example}",
            )
