"""The shared shape of the rule detectors: an incremental count against a threshold.

A detector is called after every step with the whole step list. It digests only the steps it
has not seen (O(1) per new step), keeps a current count (a streak, or how often the current
thing repeated) and the peak count so far. It fires when the count reaches its threshold, and
again at each further multiple, so a loop that goes on after a nudge is reported again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.detectors._digest import RunDigest, StepDigest
from dispatcher.detectors.base import Step, Verdict

__all__ = ["EVIDENCE_STEPS", "CountingDetector", "clip"]

_CLIP = 200
# Evidence lists at most this many (latest) step indices: a 500-step stall is "count: 500".
EVIDENCE_STEPS = 20


def clip(text: str, limit: int = _CLIP) -> str:
    """Evidence text, short enough for a trace line and a brief."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CountingDetector:
    """Base class: subclasses implement `_count` (and `_evidence` for the verdict)."""

    name = "counting"
    verdict_name = "loop"
    # Slots: eight detectors per live run, and an instance dict costs more than its fields.
    __slots__ = ("_digest", "_last", "_seen", "count", "peak", "threshold")

    def __init__(self, threshold: int, digest: RunDigest | None = None) -> None:
        self.threshold = threshold
        self._digest = digest if digest is not None else RunDigest()
        self._seen = 0
        self.count = 0
        self.peak = 0
        self._last: Verdict | None = None
        self._start_state()

    def _start_state(self) -> None:
        """Reset the subclass's incremental state (called at construction and on a new run)."""

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        raise NotImplementedError

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        raise NotImplementedError

    def __call__(self, steps: Sequence[Step]) -> Verdict | None:
        self._advance(steps)
        return self._last

    def score(self, steps: Sequence[Step]) -> float:
        """The detector's state: its peak count over the threshold (1.0 means it fired)."""
        self._advance(steps)
        return self.peak / self.threshold

    def _advance(self, steps: Sequence[Step]) -> None:
        # Called by the worker and again by the combined detector for every step: the
        # nothing-new case comes first and costs one comparison.
        total = len(steps)
        seen = self._seen
        if total == seen:
            return
        if total < seen:  # a new run: start over
            seen = self._seen = self.count = self.peak = 0
            self._last = None
            self._start_state()
        digests = self._digest.update(steps)
        verdict: Verdict | None = None
        threshold = self.threshold
        for index in range(seen, total):
            previous = self.count
            count = self.count = self._count(index, digests)
            if count > self.peak:
                self.peak = count
            if count != previous and count >= threshold and (count - threshold) % threshold == 0:
                verdict = Verdict(
                    detector=self.name,
                    verdict=self.verdict_name,
                    step=steps[index].index,
                    score=count / threshold,
                    evidence={
                        **self._evidence(index, steps),
                        "count": count,
                        "threshold": threshold,
                    },
                )
        self._seen = total
        self._last = verdict
