"""Check the arguments of `Dispatcher(...)`: a wrong type or value is a ConfigError saying what
to pass, raised before any run (not an AttributeError in the middle of one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.budgets import Budgets
from dispatcher.errors import ConfigError
from dispatcher.registry.registry import Registry

__all__ = ["check_sinks", "checked_options"]


def checked_options(
    registry: object,
    *,
    router: object,
    max_reasks: object,
    max_turns: object,
    budgets: Budgets | Mapping[str, Any] | None,
    sinks: object,
    checks: object,
) -> Budgets | None:
    """Raise ConfigError for a wrong argument; the budgets as `Budgets` (a mapping converted)."""
    if not isinstance(registry, Registry):
        raise ConfigError(
            f"Dispatcher takes a Registry, got {type(registry).__name__}",
            fix="use Dispatcher.from_config('dispatcher.yaml', agents=[...]) for a file, "
            "or pass Registry.from_file(...)",
        )
    for name, value, low in (("max_reasks", max_reasks, 0), ("max_turns", max_turns, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(
                f"{name} must be a whole number >= {low}, got {value!r}",
                field=name,
                fix=f"e.g. {name}={max(low, 2)}",
            )
    _check_hooks(router, sinks, checks)
    if isinstance(budgets, Mapping):
        return Budgets.from_mapping(budgets)
    if budgets is not None and not isinstance(budgets, Budgets):
        raise ConfigError(
            f"budgets must be a Budgets or a mapping, got {type(budgets).__name__}",
            field="budgets",
            fix="e.g. budgets=Budgets(usd=0.5, turns=40)",
        )
    return budgets


def _check_hooks(router: object, sinks: object, checks: object) -> None:
    """A router is callable, sinks have write/close, checks are callables."""
    if router is not None and not callable(router):
        raise ConfigError(
            f"router must be callable (a Router), got {type(router).__name__}",
            field="router",
            fix="pass a router from dispatcher.routing, or a function (RouteContext) -> "
            "RouteDecision",
        )
    check_sinks(sinks)
    if isinstance(checks, str | bytes) or not isinstance(checks, Sequence):
        raise ConfigError(
            f"checks must be a list, got {type(checks).__name__}",
            field="checks",
            fix="pass a list of functions taking the final answer",
        )
    for check in checks:
        if not callable(check):
            raise ConfigError(
                f"{check!r} in checks is not callable",
                field="checks",
                fix="pass functions taking the final answer",
            )


def check_sinks(sinks: object) -> None:
    """Sinks are a list of objects with write(event) and close() (Dispatcher(...) and run)."""
    if isinstance(sinks, str | bytes) or not isinstance(sinks, Sequence):
        raise ConfigError(
            f"sinks must be a list, got {type(sinks).__name__}",
            field="sinks",
            fix="pass a list of objects with write(event) and close()",
        )
    for sink in sinks:
        if not (callable(getattr(sink, "write", None)) and callable(getattr(sink, "close", None))):
            raise ConfigError(
                f"{sink!r} is not a trace sink",
                field="sinks",
                fix="a sink has write(event) and close() (see dispatcher.trace.sink.TraceSink)",
            )
