"""Read pytest's final summary line ("1 failed, 3 passed in 0.12s") into counts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dispatcher_tools.workspace._sandbox import CommandResult

__all__ = ["TestReport", "parse_counts"]

_COUNT = re.compile(
    r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|subtests passed)"
)
_DURATION = re.compile(r"\bin \d+(?:\.\d+)?s\b")


def parse_counts(output: str) -> dict[str, int]:
    """Counts from the last summary line; empty when pytest printed none (e.g. it crashed)."""
    for line in reversed(output.splitlines()):
        if _DURATION.search(line) and (_COUNT.search(line) or "no tests ran" in line):
            counts: dict[str, int] = {}
            for number, word in _COUNT.findall(line):
                key = {"error": "errors", "warning": "warnings"}.get(word, word)
                counts[key] = counts.get(key, 0) + int(number)
            return counts
    return {}


@dataclass(frozen=True, slots=True)
class TestReport:
    """One pytest run: counts and the capped output."""

    __test__ = False  # not a pytest test class despite the name

    passed: int
    failed: int
    errors: int
    result: CommandResult

    @property
    def ok(self) -> bool:
        """pytest exits 0 only when tests ran and none failed."""
        return self.result.ok

    @classmethod
    def from_result(cls, result: CommandResult) -> TestReport:
        counts = parse_counts(result.output)
        return cls(
            passed=counts.get("passed", 0),
            failed=counts.get("failed", 0),
            errors=counts.get("errors", 0),
            result=result,
        )
