"""The validation-gate seam: decides whether an answer is good enough to keep.

Cascades (weak answer → gate → strong model) and the escalation path's `gate` trigger use it.
Toolkits provide domain gates (the SQL runs and returns rows, the tests pass, JSON matches a
schema); a generic confidence gate lives with the routers.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dispatcher.errors import ConfigError

__all__ = ["Gate", "GateResult", "check_gate", "run_gate"]

_GATE_FIX = (
    "a gate is an object with a `name` (text) and an `async def __call__(self, answer: str) "
    "-> GateResult`"
)


@dataclass(frozen=True, slots=True)
class GateResult:
    """Whether the answer passed, why, and any facts worth recording."""

    passed: bool
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


class Gate(Protocol):
    """Checks one answer. Async because real gates run queries or test suites."""

    name: str

    async def __call__(self, answer: str) -> GateResult: ...


def check_gate(gate: Any, *, where: str) -> None:
    """Refuse, when it is given, a gate that could not be run or named in the trace."""
    name = getattr(gate, "name", None)
    if not callable(gate) or not isinstance(name, str) or not name:
        problem = "is not callable" if not callable(gate) else "has no `name` text"
        raise ConfigError(f"the gate {gate!r} {problem}", entry=where, field="gate", fix=_GATE_FIX)


async def run_gate(gate: Gate, answer: str) -> GateResult:
    """`gate(answer)`, awaited if it is a coroutine; a result that is not a GateResult is a
    ConfigError naming the gate (not an AttributeError deep in the run)."""
    result: Any = gate(answer)
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, GateResult):
        problem = f"returned {type(result).__name__}, not a GateResult"
    elif not isinstance(result.reason, str):
        problem = "returned a GateResult whose reason is not text"
    elif not isinstance(result.evidence, Mapping):
        problem = "returned a GateResult whose evidence is not a mapping"
    else:
        return result
    raise ConfigError(
        f"the gate {gate.name!r} {problem}",
        field="gate",
        fix="return GateResult(passed=True/False, reason='...', evidence={...}) from the gate",
    )
