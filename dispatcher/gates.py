"""The validation-gate seam: decides whether an answer is good enough to keep.

Cascades (weak answer → gate → strong model) and the escalation path's `gate` trigger use it.
Toolkits provide domain gates (the SQL runs and returns rows, the tests pass, JSON matches a
schema); a generic confidence gate lives with the routers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Gate", "GateResult"]


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
