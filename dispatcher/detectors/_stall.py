"""The stall detector: K steps in a row that brought no new information.

A step makes progress when the toolkit says the workspace changed (``state_changed: True``),
when a domain signal moved (the failing-test count changed, a new SQL result, a different SQL
error class), or, without domain signals, when its observation contains at least a few words
the run has not seen before. Identical observations, ``state_changed: False`` with nothing new,
the same SQL error class again, the same failure again (an ``exception`` of the same class with
the same non-zero ``exit_code``, e.g. a script that keeps raising ModuleNotFoundError however
its output is worded), and tokens spent on text the agent already had all count as no
progress. Signals read from observation text (`_observed_signals`) count like toolkit ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.detectors._counting import EVIDENCE_STEPS as _EVIDENCE_STEPS
from dispatcher.detectors._counting import CountingDetector, clip
from dispatcher.detectors._digest import RunDigest, StepDigest
from dispatcher.detectors.base import Step

__all__ = ["StallDetector", "TestProgressDetector"]


class StallDetector(CountingDetector):
    """Fires after `patience` steps in a row without new information."""

    name = "stall"
    verdict_name = "no progress"
    __slots__ = ("_failure", "_reasons", "_rows", "_sql_error", "_tests", "min_new_tokens")

    def __init__(
        self, threshold: int, digest: RunDigest | None = None, *, min_new_tokens: int = 3
    ) -> None:
        self.min_new_tokens = min_new_tokens
        super().__init__(threshold, digest)

    def _start_state(self) -> None:
        self._tests: tuple[Any, Any] | None = None
        self._sql_error: str | None = None
        self._failure: tuple[Any, str] | None = None  # (exit code, exception) of the last one
        self._rows: set[Any] = set()
        self._reasons: list[str] = []

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        reason = self._no_progress(digests[index])
        if reason is None:
            self._reasons.clear()
            return 0
        self._reasons.append(reason)
        del self._reasons[: -self.threshold]
        return self.count + 1

    def _no_progress(self, step: StepDigest) -> str | None:
        """Why the step brought nothing new, or None when it made progress."""
        if step.state_changed is True:
            return None
        signals = step.signals
        if signals:
            verdict = self._domain(signals)
            if verdict is not None:
                return verdict or None
        if step.new_tokens >= self.min_new_tokens:
            return None
        if step.novelty is None:
            return "empty observation"
        if step.state_changed is False:
            return "no state change and nothing new"
        return "nothing new in the observation" if step.new_tokens else "identical observation"

    def _domain(self, signals: Mapping[str, Any]) -> str | None:
        """'' for progress, a reason for none, None when no domain signal decides."""
        decided: str | None = None
        if "tests_failed" in signals or "tests_passed" in signals:
            tests = (signals.get("tests_failed"), signals.get("tests_passed"))
            decided = "" if tests != self._tests else "same test results"
            self._tests = tests
        sql_error = signals.get("sql_error")
        if sql_error:
            same = str(sql_error) == self._sql_error
            decided = (decided or "") if not same else f"same SQL error class ({sql_error})"
            self._sql_error = str(sql_error)
        elif "rows_hash" in signals:
            rows = signals["rows_hash"]
            new = rows not in self._rows
            self._rows.add(rows)
            self._sql_error = None
            decided = "" if new else "same query result"
        exception = signals.get("exception")
        if decided is None and exception and signals.get("exit_code") != 0:
            # A different failure is left to the novelty test; only a repeat decides.
            failure = (signals.get("exit_code"), str(exception))
            if failure == self._failure:
                decided = f"same failure ({exception}, exit code {failure[0]})"
            self._failure = failure
        return decided

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        first = max(index - self.count + 1, index - _EVIDENCE_STEPS + 1)
        return {
            "pattern": "no new information",
            "steps": [s.index for s in steps[first : index + 1]],
            "reasons": sorted(set(self._reasons)),
            "last_action": clip(steps[index].action),
        }


class TestProgressDetector(CountingDetector):
    """Fires after N test runs in a row that did not beat the best failing-test count.

    Reads the ``tests_failed`` signal (and ``tests_passed``) of test-running tools, or of test
    summaries in the observation text. The run that sets a new best (fewer failures, or more
    passes) starts the count at 1, so with N = 3 a first run plus two re-runs after edits that
    fixed nothing fire; a count that keeps going down never does. Steps without the signal, and
    runs where no test ran at all (0 failed, 0 passed), do not count.
    """

    name = "stall.tests"
    verdict_name = "tests not improving"
    __test__ = False  # not a pytest class, despite the name
    __slots__ = ("_best", "_runs")

    def _start_state(self) -> None:
        self._best: tuple[float, float] | None = None  # (failed, -passed): lower is better
        self._runs: list[int] = []

    def _count(self, index: int, digests: list[StepDigest]) -> int:
        signals = digests[index].signals
        if not signals or "tests_failed" not in signals:
            return self.count
        failed = signals.get("tests_failed")
        passed = signals.get("tests_passed") or 0
        if not isinstance(failed, int | float) or not isinstance(passed, int | float):
            return self.count
        if not failed and not passed:  # no tests ran (wrong path, collection stopped): no news
            return self.count
        if (
            self._best is None
            or failed < self._best[0]
            or (failed == self._best[0] and -passed < self._best[1])
        ):
            self._best = (failed, -passed)
            self._runs = [index]
            return 1 if failed else 0
        self._runs.append(index)
        del self._runs[:-_EVIDENCE_STEPS]
        return self.count + 1 if self.count else 0

    def _evidence(self, index: int, steps: Sequence[Step]) -> Mapping[str, Any]:
        assert self._best is not None
        return {
            "pattern": "test runs without fewer failures",
            "steps": [steps[i].index for i in self._runs],
            "best_failed": self._best[0],
            "last_action": clip(steps[index].action),
        }
