"""Detector profiles shipped with the package, selectable by name (`detectors: {profile: coding}`).

Each is a `detectors:` mapping; keys written beside `profile` override it. Measured numbers and
the commands that reproduce them are in docs/detectors.md and benchmarks/detectors/RESULTS.md.

- ``default``: for agents of unknown kind. Only patterns that mean trouble in every domain we
  measured (exact repeats, the same failure again, A-B-A-B cycles, a long navigation-only
  streak, a long stall); the combined score is off, since its weights do not transfer.
  At most 10% false alarms on the successful runs of every data set we have.
- ``coding``: coding agents. Navigation and re-running tests are normal work, so the navigation
  streak and stall are long; test runs that do not reduce failures count (`stall.tests`); a
  finish without a passing test after the last edit goes to the overwatch for review; the
  combined score uses few, general coding features, fitted on SWE-bench runs.
- ``tool_use``: tool-calling assistants (customer service, APIs): the combined score fitted on
  tau-bench with the features whose direction holds across domains.
- ``sql``: SQL analysts: the same SQL error class twice, or the same query result again, is a
  loop; an analyst that keeps exploring without a new result stalls sooner.
"""

from __future__ import annotations

from typing import Any

from dispatcher.detectors._features import DEFAULT_BIAS, DEFAULT_THRESHOLD, DEFAULT_WEIGHTS

__all__ = ["PROFILES", "PROFILE_NAMES"]

_OFF: dict[str, Any] = {"enabled": False}

# `dispatcher detectors calibrate --profile coding --features steps,error_rate,hedging,
# text_tokens,observation_tokens,edits_since_test,test_fail_streak` on the 450 SWE-bench
# Verified runs of mini-swe-agent + gemini-3-pro (benchmarks/detectors/RESULTS.md).
CODING_WEIGHTS: dict[str, float] = {
    "steps": -0.530392,
    "error_rate": 0.564153,
    "hedging": 0.307714,
    "text_tokens": 0.014216,
    "observation_tokens": 0.166739,
    "edits_since_test": 0.277668,
    "test_fail_streak": -0.13562,
}
CODING_BIAS = -2.159809
# calibrate's out-of-fold 5% threshold is 0.377; the shipped one is higher so that the whole
# profile (with the finish review, which alone alarms on 8% of these successful runs) stays
# within 10% false alarms.
CODING_THRESHOLD = 0.45

PROFILES: dict[str, dict[str, Any]] = {
    "default": {
        "loop": {
            "repeats": 4,
            "failing_repeats": 3,
            "alternation_cycles": 3,
            "monologue_repeats": 4,
            "navigation_streak": 20,
        },
        "stall": {"patience": 12, "test_runs": None},
        "combined": _OFF,
        "finish_review": False,
    },
    "coding": {
        "loop": {
            "repeats": 4,
            "failing_repeats": 3,
            "alternation_cycles": 3,
            "monologue_repeats": None,
            "navigation_streak": 30,
        },
        "stall": {"patience": 15, "test_runs": 3},
        "combined": {
            "weights": CODING_WEIGHTS,
            "bias": CODING_BIAS,
            "threshold": CODING_THRESHOLD,
            "min_steps": 10,
        },
        "finish_review": True,
    },
    "tool_use": {
        "loop": {"repeats": 4, "failing_repeats": 3, "alternation_cycles": 3},
        "stall": {"patience": 6},
        "combined": {
            "weights": dict(DEFAULT_WEIGHTS),
            "bias": DEFAULT_BIAS,
            "threshold": DEFAULT_THRESHOLD,
        },
        "finish_review": False,
    },
    "sql": {
        "loop": {"repeats": 3, "failing_repeats": 2, "alternation_cycles": 3},
        "stall": {"patience": 5, "test_runs": None},
        "combined": _OFF,
        "finish_review": False,
    },
}
PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)
