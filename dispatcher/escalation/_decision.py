"""Read the overwatch's decision, even from a weak model that gets the format slightly wrong.

A strong model answers with a well-formed `overwatch_decision` call. A small one (a local
overwatch, or a worker promoted to it) may write "take over" or "TakeOver", leave the mode out,
or send JSON cut off mid-string. None of that may stop the run: a near-miss mode is read as the
mode it spells, a decision with guidance but no usable mode is advice with that guidance, and
anything unreadable is advice with the reply's text. `problem` says what was not understood,
for the trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from dispatcher._model_json import loads_model_json
from dispatcher.escalation.request import DECISION_TOOL_NAME, OverwatchDecision

__all__ = ["ReadDecision", "read_decision"]

Mode = Literal["advise", "take_over", "hand_back"]
# Keyed by the spelling's letters only: "Take over", "take-over" and "TAKEOVER" all match.
_MODE_SPELLINGS: dict[str, Mode] = {
    "advise": "advise",
    "advice": "advise",
    "takeover": "take_over",
    "handback": "hand_back",
}
_DEFAULT_GUIDANCE = "Try another approach."
_GUIDANCE = re.compile(r'"guidance"\s*:\s*"((?:[^"\\]|\\.)*)')


@dataclass(frozen=True, slots=True)
class ReadDecision:
    decision: OverwatchDecision
    problem: str | None = None


def _mode(value: object) -> Mode | None:
    if not isinstance(value, str):
        return None
    return _MODE_SPELLINGS.get(re.sub(r"[^a-z]", "", value.lower()))


def _raw(text: str, tool_calls: Sequence[Any]) -> tuple[object, str]:
    """The decision's JSON value (None if unreadable) and the text it came from."""
    for call in tool_calls:
        if call.name == DECISION_TOOL_NAME:
            source = call.arguments or "{}"
            break
    else:
        source = text.strip()
        if not source.startswith("{"):
            return None, source
    try:
        return loads_model_json(source), source
    except json.JSONDecodeError:
        return None, source


def read_decision(text: str, tool_calls: Sequence[Any], modes: Sequence[str]) -> ReadDecision:
    """The decision among `modes`; free text (a model without tools) counts as advice."""
    fallback = _mode("advise" if "advise" in modes else modes[0]) or "advise"
    raw, source = _raw(text, tool_calls)
    if isinstance(raw, Mapping):
        said = raw.get("guidance")
        # Kept as sent (recorded runs replay the exact text); only a blank one is replaced.
        guidance = said if isinstance(said, str) and said.strip() else None
        mode = _mode(raw.get("mode"))
        if mode is not None and mode in modes:
            problem = (
                None if raw.get("mode") == mode else f"mode {raw.get('mode')!r} read as {mode}"
            )
            return ReadDecision(
                OverwatchDecision(mode=mode, guidance=guidance or _DEFAULT_GUIDANCE), problem
            )
        problem = f"mode {raw.get('mode')!r} is not one of {', '.join(modes)}: read as {fallback}"
        guidance = guidance or text.strip() or _DEFAULT_GUIDANCE
        return ReadDecision(OverwatchDecision(mode=fallback, guidance=guidance), problem)
    problem = None
    guidance = text.strip()
    if tool_calls or source.startswith("{"):
        problem = f"the decision could not be read ({source[:200]!r}): read as {fallback}"
        salvaged = _GUIDANCE.search(source)
        guidance = guidance or (salvaged.group(1).strip() if salvaged else "")
    return ReadDecision(
        OverwatchDecision(mode=fallback, guidance=guidance or _DEFAULT_GUIDANCE), problem
    )
