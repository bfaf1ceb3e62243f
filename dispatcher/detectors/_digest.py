"""A per-run cache of what each step looks like to the detectors, computed once per step.

All detectors built for one run share one `RunDigest`, so hashing an observation, splitting
it into tokens and measuring how much of it is new happens once per step, not once per
detector. The work per step is bounded: long observations are sampled (head and tail), so a
100 kB test log costs about as much as a 4 kB one.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatcher.detectors._actions import ActionClassifier
from dispatcher.detectors._coding import CodingFacts, coding_facts, count_hedges
from dispatcher.detectors.base import Step

__all__ = ["REGRET_PHRASES", "RunDigest", "StepDigest", "tokens_of"]

# Apology, regret and confusion in the agent's own words. Their meaning is domain dependent
# (a customer-service agent apologises when it correctly refuses; a coding agent when it is
# lost), so they only enter the combined score, whose weight calibration learns.
REGRET_PHRASES = re.compile(
    r"\b(?:sorry|apologi[sz]e|apologies|unfortunately|regret|my mistake|oops|confus\w*"
    r"|misunderst\w*|i was wrong)\b",
    re.IGNORECASE,
)

_HEAD_CHARS = 1500
_TAIL_CHARS = 500
_TEXT_CHARS = 2000
_KEY_CHARS = 8192
# Punctuation becomes whitespace, so JSON, paths and code split into words cheaply (C speed).
_SEPARATORS = str.maketrans({c: " " for c in string.punctuation if c != "_"})


def tokens_of(text: str) -> set[str]:
    """The distinct lower-case words of a text, from its head and tail only (bounded cost)."""
    if len(text) > _HEAD_CHARS + _TAIL_CHARS:
        text = text[:_HEAD_CHARS] + " " + text[-_TAIL_CHARS:]
    return set(text.lower().translate(_SEPARATORS).split())


def _key(text: str) -> int:
    if len(text) > _KEY_CHARS:
        return hash((len(text), text[: _KEY_CHARS // 2], text[-_KEY_CHARS // 2 :]))
    return hash(text)


# Not frozen: a frozen dataclass sets each of its 15 fields through object.__setattr__, which
# triples the cost of making one per step. Nothing assigns to a digest once made.
@dataclass(slots=True)
class StepDigest:
    """The facts about one step that the detectors compare (read-only by convention)."""

    action_key: int
    observation_key: int
    error: bool
    navigation: bool
    escalation: bool
    text_turn: bool
    text_key: int | None
    novelty: float | None  # share of the observation's words unseen before (None: empty)
    new_tokens: int
    action_novelty: float | None
    regret: int
    observation_chars: int
    text_chars: int
    state_changed: bool | None
    signals: Mapping[str, Any]
    coding: CodingFacts
    hedges: int

    @property
    def outcome_key(self) -> tuple[int, int]:
        """Action and result together: the same call that returned the same thing."""
        return (self.action_key, self.observation_key)


class RunDigest:
    """Digests of the steps of one run, extended as the run grows.

    A detector calls `update(steps)` with the full step list; only new steps are digested.
    A shorter list than seen before means a new run: the digest starts over.
    """

    __slots__ = ("_action_words", "_classifier", "_observation_words", "digests")

    def __init__(self, extra_navigation: Iterable[str] = ()) -> None:
        self._classifier = ActionClassifier(extra_navigation)
        self.digests: list[StepDigest] = []
        self._observation_words: set[str] = set()
        self._action_words: set[str] = set()

    def reset(self) -> None:
        self.digests = []
        self._observation_words = set()
        self._action_words = set()

    def update(self, steps: Sequence[Step]) -> list[StepDigest]:
        digests = self.digests
        done = len(digests)
        if len(steps) == done:  # every detector of the step asks; the first one did the work
            return digests
        if len(steps) < done:
            self.reset()
            digests, done = self.digests, 0
        for index in range(done, len(steps)):
            digests.append(self._digest(steps[index]))
        return digests

    def _digest(self, step: Step) -> StepDigest:
        text_turn = step.tool is None and bool(step.text) and step.action == step.text
        if text_turn:
            navigation = escalation = False
        else:
            navigation, escalation = self._classifier.classify(
                step.tool, step.arguments, step.action
            )
        novelty: float | None = None
        new_count = 0
        if step.observation:
            words = tokens_of(step.observation)
            if words:
                new = words - self._observation_words
                new_count = len(new)
                novelty = new_count / len(words)
                self._observation_words |= new
        action_novelty: float | None = None
        if not text_turn:
            words = tokens_of(step.action[:_TEXT_CHARS])
            if words:
                new = words - self._action_words
                action_novelty = len(new) / len(words)
                self._action_words |= new
        text = step.text[:_TEXT_CHARS]
        state_changed = step.signals.get("state_changed") if step.signals else None
        exit_code = step.signals.get("exit_code") if step.signals else None
        # A non-zero exit code is a failure even where the log marked none (logs that show
        # failures only as return codes).
        error = step.error or (type(exit_code) is int and exit_code != 0)
        return StepDigest(
            action_key=_key(step.action),
            observation_key=_key(step.observation),
            error=error,
            navigation=navigation,
            escalation=escalation,
            text_turn=text_turn,
            text_key=hash(" ".join(text.lower().split())) if text.strip() else None,
            novelty=novelty,
            new_tokens=new_count,
            action_novelty=action_novelty,
            regret=len(REGRET_PHRASES.findall(text)) if text else 0,
            observation_chars=len(step.observation),
            text_chars=len(step.text),
            state_changed=state_changed if isinstance(state_changed, bool) else None,
            signals=step.signals,
            coding=coding_facts(step, error),
            hedges=count_hedges(text),
        )
