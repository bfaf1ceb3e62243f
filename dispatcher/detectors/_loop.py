"""Loop detectors: the agent does the same thing again and again.

- `RepeatDetector`: the same action returned the same result N times in a row (OpenHands
  stops at 4 identical action+observation pairs, Gemini CLI at 5 identical calls).
- `FailingRepeatDetector`: the same action failed the same way N times, with no change to
  the workspace in between (OpenHands: 3 identical failing actions).
- `AlternationDetector`: A-B-A-B (or A-B-C-A-B-C) with identical results each time.
- `MonologueDetector`: the same assistant message N times.
- `NavigationDetector`: N navigation steps in a row (grep, find, ls, cat, view, get_...),
  all counted as one kind of action, so varying the search string does not hide the loop.

A step whose toolkit reports ``state_changed: True`` breaks repeats and failing repeats: re-running
tests after an edit is progress, not a loop. Different content is a different action, so
incremental edits of one file never repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.detectors._counting import EVIDENCE_STEPS as _EVIDENCE_STEPS
from dispatcher.detectors._counting import CountingDetector, clip
from dispatcher.detectors._digest import StepDigest
from dispatcher.detectors.base import Step

__all__ = [
    "AlternationDetector",
    "FailingRepeatDetector",
    "MonologueDetector",
    "NavigationDetector",
    "RepeatDetector",
]


class RepeatDetector(CountingDetector):
    """Identical action and identical result, N times in a row."""

    name = "loop.repeat"
    verdict_name = "repeated action"
    __slots__ = ()

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        step = digests[index]
        if (
            index > 0
            and self.count > 0
            and step.state_changed is not True
            and step.outcome_key == digests[index - 1].outcome_key
        ):
            return self.count + 1
        return 1

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        first = max(index - self.count + 1, index - _EVIDENCE_STEPS + 1)
        return {
            "pattern": "same action, same result",
            "steps": [s.index for s in steps[first : index + 1]],
            "action": clip(steps[index].action),
            "observation": clip(steps[index].observation),
        }


class FailingRepeatDetector(CountingDetector):
    """The same action failing the same way N times since the workspace last changed."""

    name = "loop.failing"
    verdict_name = "repeated failing action"
    __slots__ = ("_failures",)

    def _start_state(self) -> None:
        # action key -> [observation key of its last failure, count, recent step indices]
        self._failures: dict[int, tuple[int, int, tuple[int, ...]]] = {}

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        step = digests[index]
        if step.state_changed is True:
            self._failures.clear()  # a new state: earlier failures say nothing about it
        if not step.error:
            self._failures.pop(step.action_key, None)
            return 0
        previous = self._failures.get(step.action_key)
        if previous is not None and previous[0] == step.observation_key:
            count, recent = previous[1] + 1, (*previous[2][-7:], index)
        else:
            count, recent = 1, (index,)
        self._failures[step.action_key] = (step.observation_key, count, recent)
        if len(self._failures) > 512:  # bound memory on very long runs
            self._failures.pop(next(iter(self._failures)))
        return count

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        recent = self._failures[self._digest.digests[index].action_key][2]
        return {
            "pattern": "same action failing the same way",
            "steps": [steps[i].index for i in recent],
            "action": clip(steps[index].action),
            "error": clip(steps[index].observation),
        }


class AlternationDetector(CountingDetector):
    """Identical steps cycling with period 2 or 3 (A-B-A-B, A-B-C-A-B-C); counts cycles."""

    name = "loop.alternation"
    verdict_name = "alternating actions"
    periods = (2, 3)
    __slots__ = ("_period", "_runs")

    def _start_state(self) -> None:
        self._runs = dict.fromkeys(self.periods, 0)  # steps matching the step one period back
        self._period = 2

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        step = digests[index]
        best = 0
        for period in self.periods:
            back = index - period
            if (
                back >= 0
                and step.outcome_key == digests[back].outcome_key
                and not self._constant(index, period, digests)
            ):
                self._runs[period] += 1
            else:
                self._runs[period] = 0
            matched = self._runs[period]
            cycles = (matched + period) // period if matched else 0
            if cycles > best:
                best, self._period = cycles, period
        return best

    @staticmethod
    def _constant(index: int, period: int, digests: list[StepDigest]) -> bool:
        """True when the cycle is one repeated step: that is `RepeatDetector`'s pattern."""
        key = digests[index].outcome_key
        return all(digests[index - k].outcome_key == key for k in range(1, period))

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        period = self._period
        first = max(0, index - self._runs[period] - period + 1, index - _EVIDENCE_STEPS + 1)
        return {
            "pattern": f"cycle of {period} identical steps",
            "steps": [s.index for s in steps[first : index + 1]],
            "actions": [clip(s.action, 120) for s in steps[index - period + 1 : index + 1]],
        }


class MonologueDetector(CountingDetector):
    """The same assistant message (whitespace and case aside) N times in the run."""

    name = "loop.monologue"
    verdict_name = "repeated message"
    __slots__ = ("_messages",)

    def _start_state(self) -> None:
        self._messages: dict[int, int] = {}

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        key = digests[index].text_key
        if key is None:
            return 0
        count = self._messages.get(key, 0) + 1
        self._messages[key] = count
        return count

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        return {"pattern": "same message repeated", "message": clip(steps[index].text)}


class NavigationDetector(CountingDetector):
    """N navigation steps in a row: searching and reading without ever acting."""

    name = "loop.navigation"
    verdict_name = "navigation streak"
    __slots__ = ()

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        return self.count + 1 if digests[index].navigation else 0

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        first = max(index - self.count + 1, index - _EVIDENCE_STEPS + 1)
        return {
            "pattern": "only navigation (grep/find/ls/cat/view/get...)",
            "steps": [s.index for s in steps[first : index + 1]],
            "recent": [clip(s.action, 120) for s in steps[max(first, index - 2) : index + 1]],
        }
