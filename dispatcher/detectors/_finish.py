"""The finish review: a run that submits without a passing test run after its last edit.

Many failed coding runs are short, confident and wrong: they edit, then submit without
checking. No loop rule can see them. This detector watches edits and test runs (see
`_coding`) and fires at the finish when code was edited after the last passing test run
(or no test ever passed): the worker then escalates to the overwatch for a review before
the answer is accepted.

A finish is a ``finish``/``submit`` tool call or mini-swe-agent's submit command in imported
logs; in a live worker it is the final answer, which the worker reports with `at_finish`.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher.detectors._digest import RunDigest
from dispatcher.detectors.base import Step, Verdict

__all__ = ["FinishReviewDetector"]


class FinishReviewDetector:
    """Fires at a finish that no passing test run after the last edit supports."""

    name = "review.finish"
    __slots__ = ("_digest", "_edits", "_files", "_last", "_last_test", "_seen", "fired")

    def __init__(self, digest: RunDigest | None = None) -> None:
        self._digest = digest if digest is not None else RunDigest()
        self._start()

    def _start(self) -> None:
        self._seen = 0
        self._edits = 0  # edits since the last passing test run
        self._files: set[str] = set()
        self._last_test: tuple[int, bool] | None = None  # (step index, passed)
        self._last: Verdict | None = None
        self.fired = False

    def __call__(self, steps: Sequence[Step]) -> Verdict | None:
        self._advance(steps)
        return self._last

    def score(self, steps: Sequence[Step]) -> float:
        """1.0 once the run finished unchecked, else 0.0."""
        self._advance(steps)
        return 1.0 if self.fired else 0.0

    def at_finish(self, steps: Sequence[Step]) -> Verdict | None:
        """The verdict for a final answer given after `steps` (the live worker's finish)."""
        self._advance(steps)
        index = steps[-1].index if steps else 0
        return self._verdict(index)

    def _advance(self, steps: Sequence[Step]) -> None:
        if len(steps) < self._seen:
            self._start()
        if len(steps) == self._seen:
            return
        digests = self._digest.update(steps)
        self._last = None
        for position in range(self._seen, len(steps)):
            facts = digests[position].coding
            if facts.finish:
                verdict = self._verdict(steps[position].index)
                if verdict is not None:
                    self._last = verdict
            elif facts.edit:
                self._edits += 1
                if len(self._files) < 64:
                    self._files.update(facts.files)
            elif facts.test_run:
                self._last_test = (steps[position].index, bool(facts.test_passed))
                if facts.test_passed:
                    self._edits = 0
                    self._files.clear()
        self._seen = len(steps)

    def _verdict(self, index: int) -> Verdict | None:
        if self._edits == 0:
            return None
        self.fired = True
        last = self._last_test
        return Verdict(
            detector=self.name,
            verdict="finished without a passing test after the last edit",
            step=index,
            score=1.0,
            evidence={
                "edits_since_passing_test": self._edits,
                "files": sorted(self._files)[:10],
                "last_test_step": last[0] if last else None,
                "last_test_passed": last[1] if last else None,
            },
        )
