"""Run features for the combined score, updated in O(window) per step, pure Python.

Features are chosen to transfer between domains: how long the run is, how often and how
persistently it fails, whether it repeats itself, whether its observations and its actions
still bring new words (novelty decays when an agent circles), how much output it has read,
regret or confusion in its own words, whether it called a hand-off tool, and the peak states
of the loop and stall detectors (normalised by fixed counts, so changing a detector's
threshold does not change the feature).
"""

from __future__ import annotations

import math

from dispatcher.detectors._digest import StepDigest

__all__ = [
    "DEFAULT_BIAS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_WEIGHTS",
    "FEATURE_DOCS",
    "FEATURE_NAMES",
    "LOOP_SCALES",
    "STALL_SCALE",
    "RunFeatures",
]

FEATURE_DOCS: dict[str, str] = {
    "steps": "log(1 + steps so far)",
    "error_rate": "failed steps / (steps + 2)",
    "error_streak": "log(1 + longest run of consecutive failed steps)",
    "failing_repeats": "log(1 + most times one action failed the same way)",
    "repeat_rate": "share of steps whose exact action was seen since the state last changed",
    "observation_novelty": "mean share of unseen words in the last `window` tool results "
    "(a result that changed the workspace counts 1, an empty one 0; 0 before any)",
    "action_novelty": "mean share of unseen words in the last `window` actions",
    "observation_tokens": "log(1 + characters of tool results and replies read / 4)",
    "text_tokens": "log(1 + characters of the agent's own text / 4)",
    "regret": "log(1 + apology, regret or confusion phrases in the agent's text)",
    "escalation_tool": "1 once a hand-off tool (escalate, transfer to a human) was called",
    "text_turns": "share of steps that were text only (no tool call)",
    "hedging": "log(1 + uncertainty words in the agent's text: however, but, wait, might...)",
    "edits_since_test": "log(1 + edits since the last test run)",
    "files_touched": "log(1 + distinct files edited)",
    "test_fail_streak": "log(1 + test runs in a row that failed, up to now)",
    "loop": "peak loop-pattern count over its default threshold (0..3)",
    "stall": "peak stall streak over the default patience (0..3)",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_DOCS)

# Fixed normalisers (the peer-level defaults), independent of the configured thresholds.
LOOP_SCALES = {
    "loop.repeat": 4,
    "loop.failing": 3,
    "loop.alternation": 3,
    "loop.monologue": 3,
    "loop.navigation": 15,
}
STALL_SCALE = 6
_CAP = 3.0

# Fitted by `dispatcher detectors calibrate` on the tau-bench airline runs, restricted to the
# features whose direction should hold in any domain (more steps, errors, repetition, loops
# and stalls mean trouble; novel observations and actions mean progress); regret, hand-off
# tools and text turns change meaning between domains, so only a calibration on your own runs
# weighs them. The threshold kept out-of-fold false alarms on successful runs near 5% there.
# Reproduce: see benchmarks/detectors/RESULTS.md.
DEFAULT_WEIGHTS: dict[str, float] = {
    "steps": 0.231001,
    "error_rate": 0.976387,
    "repeat_rate": 2.491352,
    "observation_novelty": -1.371979,
    "action_novelty": -0.464959,
    "loop": 0.85195,
    "stall": 0.163784,
}
DEFAULT_BIAS = 0.651703
DEFAULT_THRESHOLD = 0.813521


class RunFeatures:
    """Accumulates one run's features from step digests, one step at a time."""

    __slots__ = (
        "_action_novelty",
        "_edits_since_test",
        "_errors",
        "_files",
        "_hedges",
        "_max_streak",
        "_observation_chars",
        "_observation_novelty",
        "_regret",
        "_repeats",
        "_seen_actions",
        "_steps",
        "_streak",
        "_test_fail_streak",
        "_text_chars",
        "_text_turns",
        "_window",
        "escalated",
    )

    def __init__(self, window: int = 10) -> None:
        self._steps = 0
        self._text_turns = 0
        self._errors = 0
        self._streak = 0
        self._max_streak = 0
        self._repeats = 0
        self._seen_actions: set[int] = set()
        self._window = window
        # Plain lists trimmed by hand: a deque allocates a 64-slot block (over 500 bytes)
        # however short the window, and every live run holds two.
        self._observation_novelty: list[float] = []
        self._action_novelty: list[float] = []
        self._observation_chars = 0
        self._text_chars = 0
        self._regret = 0
        self._hedges = 0
        self._edits_since_test = 0
        self._test_fail_streak = 0
        self._files: set[str] = set()
        self.escalated = False

    def add(self, step: StepDigest) -> None:
        self._steps += 1
        if step.text_turn:
            self._text_turns += 1
        else:
            # A step that changed the workspace made progress whatever its (often terse)
            # output says; an empty result brought nothing new.
            changed = step.state_changed is True
            _push(self._observation_novelty, 1.0 if changed else step.novelty or 0.0, self._window)
            if step.action_novelty is not None:
                _push(self._action_novelty, step.action_novelty, self._window)
        if step.error:
            self._errors += 1
            self._streak += 1
            self._max_streak = max(self._max_streak, self._streak)
        else:
            self._streak = 0
        if step.state_changed is True:
            # Re-running an action after the state changed (tests after an edit) is no repeat.
            self._seen_actions.clear()
        if step.action_key in self._seen_actions:
            self._repeats += 1
        self._seen_actions.add(step.action_key)
        self._observation_chars += step.observation_chars
        self._text_chars += step.text_chars
        self._regret += step.regret
        self._hedges += step.hedges
        coding = step.coding
        if coding.edit:
            self._edits_since_test += 1
            if len(self._files) < 256:
                self._files.update(coding.files)
        elif coding.test_run:
            self._edits_since_test = 0
            self._test_fail_streak = 0 if coding.test_passed else self._test_fail_streak + 1
        self.escalated = self.escalated or step.escalation

    def vector(self, loop: float, stall: float, failing_repeats: int) -> dict[str, float]:
        """The features now; `loop` is a peak level, `stall` a peak count (see FEATURE_DOCS)."""
        n = self._steps
        obs = self._observation_novelty
        act = self._action_novelty
        return {
            "steps": math.log1p(n),
            "error_rate": self._errors / (n + 2),
            "error_streak": math.log1p(self._max_streak),
            "failing_repeats": math.log1p(failing_repeats),
            "repeat_rate": self._repeats / (n + 1),
            # No tool result yet means nothing learned yet: 0, not "all new".
            "observation_novelty": sum(obs) / len(obs) if obs else 0.0,
            "action_novelty": sum(act) / len(act) if act else 0.0,
            "observation_tokens": math.log1p(self._observation_chars / 4),
            "text_tokens": math.log1p(self._text_chars / 4),
            "regret": math.log1p(self._regret),
            "escalation_tool": 1.0 if self.escalated else 0.0,
            "hedging": math.log1p(self._hedges),
            "edits_since_test": math.log1p(self._edits_since_test),
            "files_touched": math.log1p(len(self._files)),
            "test_fail_streak": math.log1p(self._test_fail_streak),
            "text_turns": self._text_turns / (n + 1),
            "loop": min(loop, _CAP),
            "stall": min(stall / STALL_SCALE, _CAP),
        }


def _push(window: list[float], value: float, size: int) -> None:
    """Append `value`, keeping only the last `size` values."""
    window.append(value)
    if len(window) > size:
        del window[0]
