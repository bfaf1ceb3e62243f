"""Run budgets, checked before every model request so spend never overshoots by more than one."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from dispatcher._did_you_mean import did_you_mean
from dispatcher.errors import BudgetExceeded, ConfigError

__all__ = ["DEFAULT_MAX_TURNS", "BudgetTracker", "Budgets"]

# Model requests per run when `budgets.turns` is not set: a run always stops, even with no
# budget configured at all (docs/configuration.md; set `dispatcher.budgets.turns` to change it).
DEFAULT_MAX_TURNS = 100
_EXAMPLES = {"usd": 0.5, "turns": 40, "tokens": 200000, "wall_s": 300, "tool_calls": 100}


@dataclass(frozen=True, slots=True)
class Budgets:
    """Limits for a run or one agent; None means unlimited."""

    usd: float | None = None
    turns: int | None = None
    tokens: int | None = None
    wall_s: float | None = None
    tool_calls: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, *, where: str = "budgets") -> Budgets:
        if not data:
            return cls()
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"unknown budget {unknown[0]!r}",
                entry=where,
                field=f"budgets.{unknown[0]}",
                fix=did_you_mean(unknown[0], sorted(names))
                + f"use any of: {', '.join(sorted(names))}",
            )
        for name, value in data.items():
            _check_limit(name, value, where)
        return cls(**{k: v for k, v in data.items() if v is not None})

    def __post_init__(self) -> None:
        for limit in fields(self):
            _check_limit(limit.name, getattr(self, limit.name), "Budgets")

    def merged(self, override: Budgets | None) -> Budgets:
        """`override`'s limits where set, ours elsewhere."""
        if override is None:
            return self
        return Budgets(
            **{
                f.name: getattr(override, f.name)
                if getattr(override, f.name) is not None
                else getattr(self, f.name)
                for f in fields(self)
            }
        )


def _check_limit(name: str, value: Any, where: str) -> None:
    """A limit is None (no limit) or a positive number; NaN would never be exceeded."""
    whole = name in ("turns", "tokens", "tool_calls")
    kinds = (int,) if whole else (int, float)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, kinds) or math.isnan(value) or value <= 0
    ):
        raise ConfigError(
            f"budget {name} must be a {'whole ' if whole else ''}number > 0, got {value!r}",
            entry=where,
            field=f"budgets.{name}",
            fix=f"e.g. {name}: {_EXAMPLES[name]} (leave it out for no limit)",
        )


class BudgetTracker:
    """Spend so far against `Budgets`; `check()` raises before a request that would overrun."""

    __slots__ = ("budgets", "deadline", "started", "tokens", "tool_calls", "turns", "usd")

    def __init__(self, budgets: Budgets, *, clock_start: float | None = None) -> None:
        self.budgets = budgets
        self.started = time.monotonic() if clock_start is None else clock_start
        self.deadline = self.started + budgets.wall_s if budgets.wall_s else None
        self.turns = 0
        self.tokens = 0
        self.usd = 0.0
        self.tool_calls = 0

    @property
    def remaining_usd(self) -> float | None:
        return None if self.budgets.usd is None else self.budgets.usd - self.usd

    def check(self) -> None:
        """Raise BudgetExceeded if the next model request is not allowed."""
        b = self.budgets
        if b.turns is not None and self.turns >= b.turns:
            raise BudgetExceeded("turns", limit=b.turns, spent=self.turns)
        if b.tokens is not None and self.tokens >= b.tokens:
            raise BudgetExceeded("tokens", limit=b.tokens, spent=self.tokens)
        if b.usd is not None and self.usd >= b.usd:
            raise BudgetExceeded("usd", limit=b.usd, spent=round(self.usd, 6))
        if b.tool_calls is not None and self.tool_calls >= b.tool_calls:
            raise BudgetExceeded("tool_calls", limit=b.tool_calls, spent=self.tool_calls)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise self.wall_time_exceeded()

    def seconds_left(self) -> float | None:
        """Wall time left before the deadline (None: no wall_s budget)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def wall_time_exceeded(self) -> BudgetExceeded:
        """The error for a run (or agent) past its wall_s deadline."""
        spent = round(time.monotonic() - self.started, 3)
        return BudgetExceeded("wall_s", limit=self.budgets.wall_s or 0.0, spent=spent)

    def check_tool_call(self) -> None:
        b = self.budgets
        if b.tool_calls is not None and self.tool_calls >= b.tool_calls:
            raise BudgetExceeded("tool_calls", limit=b.tool_calls, spent=self.tool_calls)

    def record_model_call(self, tokens: int, usd: float | None) -> None:
        # Counts come from the provider: a negative one must not give budget back.
        self.turns += 1
        self.tokens += max(0, tokens)
        if usd is not None:
            self.usd += max(0.0, usd)
