"""The detector seam: a callable over a read-only view of the run so far.

The worker loop appends one `Step` per tool call (or per text-only turn) and asks each
detector for a `Verdict`. Labelled trajectories replayed offline go through the very same
detectors, so what we measure is what runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Detector", "Step", "Verdict"]


@dataclass(frozen=True, slots=True)
class Step:
    """One step of an agent run as detectors see it.

    `action` is the tool call as text (tool name plus canonical JSON arguments), or the
    assistant's text for a turn without a tool call. `arguments` is the parsed form when the
    source had one (imported trajectories); the live worker leaves it None to keep steps
    small, so read them with `call_arguments()`. `signals` are domain progress facts
    reported by the toolkit (e.g. ``tests_failed``, ``sql_error``, ``state_changed``).
    """

    index: int
    action: str
    observation: str = ""
    error: bool = False
    tool: str | None = None
    arguments: Mapping[str, Any] | None = None
    text: str = ""
    signals: Mapping[str, Any] = field(default_factory=dict)
    tokens: int = 0

    def call_arguments(self) -> Mapping[str, Any] | None:
        """The call's arguments: `arguments`, else parsed from the JSON in `action`."""
        if self.arguments is not None or self.tool is None:
            return self.arguments
        head = f"{self.tool}("
        if not (self.action.startswith(head) and self.action.endswith(")")):
            return None
        try:
            value = json.loads(self.action[len(head) : -1])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """A detector's finding: what it saw (`verdict`), how sure it is, and the evidence."""

    detector: str
    verdict: str
    step: int
    score: float = 1.0
    evidence: Mapping[str, Any] = field(default_factory=dict)


class Detector(Protocol):
    """Looks at the steps so far and returns a verdict, or None when all is well."""

    name: str

    def __call__(self, steps: Sequence[Step]) -> Verdict | None: ...
