"""Cascade routing: ask the weak model first, check its answer with gates, and only call the
strong model when a gate fails. Also the generic confidence gate used when no domain gate
(SQL returns rows, tests pass, ...) fits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher.gates import Gate, GateResult, check_gate, run_gate
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models.base import Model
from dispatcher.routing.base import RouteContext, RouteDecision
from dispatcher.trace.events import RouteEvent
from dispatcher.trace.tracer import current_tracer

__all__ = ["Cascade", "CascadeResult", "CascadeRouter", "ConfidenceGate", "estimate_confidence"]

_STATED = re.compile(
    r"confidence(?:\s+(?:level|score))?\s*(?:is|of|:|=)?\s*(\d+(?:\.\d+)?)\s*(%|/\s*10\b|/\s*100\b)?",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(?:i (?:can(?:no|')t|am unable to|'m unable to|won't) (?:help|answer|do|determine|"
    r"provide|assist)|as an ai\b|i do(?: not|n't) have (?:enough|access))",
    re.IGNORECASE,
)
_HEDGES = (
    "not sure",
    "not certain",
    "i don't know",
    "i do not know",
    "i think",
    "i believe",
    "i guess",
    "probably",
    "possibly",
    "perhaps",
    "maybe",
    "might be",
    "may be",
    "unclear",
    "uncertain",
    "hard to say",
    "it depends",
    "cannot be sure",
)


def estimate_confidence(
    answer: str, *, hedge_penalty: float = 0.25, hedges: Sequence[str] = _HEDGES
) -> tuple[float, str]:
    """A rough confidence in [0, 1] from the answer's own words, and why.

    An explicitly stated confidence wins; otherwise empty answers and refusals score 0 and
    each hedging phrase takes `hedge_penalty` off 1.
    """
    text = answer.strip()
    if not text:
        return 0.0, "empty answer"
    stated = _STATED.search(text)
    if stated:
        value = float(stated.group(1))
        unit = (stated.group(2) or "").replace(" ", "")
        scale = {"%": 100.0, "/10": 10.0, "/100": 100.0}.get(unit, 100.0 if value > 1 else 1.0)
        return min(max(value / scale, 0.0), 1.0), f"stated confidence {stated.group(0).strip()!r}"
    if _REFUSAL.search(text):
        return 0.0, "the answer declines or says it cannot answer"
    lowered = text.lower()
    found = [h for h in hedges if h in lowered]
    if found:
        return max(0.0, 1.0 - hedge_penalty * len(found)), f"hedges: {', '.join(found)}"
    return 1.0, "no hedging, refusal or stated doubt"


class ConfidenceGate:
    """Passes an answer whose estimated confidence is at least `min_confidence`."""

    def __init__(self, min_confidence: float = 0.6, *, hedge_penalty: float = 0.25) -> None:
        self.name = "confidence"
        self.min_confidence = min_confidence
        self.hedge_penalty = hedge_penalty

    async def __call__(self, answer: str) -> GateResult:
        confidence, why = estimate_confidence(answer, hedge_penalty=self.hedge_penalty)
        passed = confidence >= self.min_confidence
        side = ">=" if passed else "<"
        return GateResult(
            passed=passed,
            reason=f"confidence {confidence:.2f} {side} {self.min_confidence:.2f} ({why})",
            evidence={"confidence": confidence, "why": why},
        )


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """The answer kept, which model gave it, and what each gate said about the weak answer."""

    response: ModelResponse
    escalated: bool
    weak_response: ModelResponse
    gate_results: tuple[tuple[str, GateResult], ...]

    @property
    def route(self) -> str:
        return "strong" if self.escalated else "weak"


class Cascade:
    """weak model -> gates -> strong model. Gates run in order; the first failure escalates."""

    def __init__(
        self, weak: Model, strong: Model, gates: Sequence[Gate], *, name: str = "cascade"
    ) -> None:
        if not gates:
            raise ValueError("a cascade needs at least one gate, e.g. ConfidenceGate()")
        for gate in gates:
            check_gate(gate, where=f"cascade {name!r}")
        self.name = name
        self.weak = weak
        self.strong = strong
        self.gates = tuple(gates)

    async def run(self, request: ModelRequest) -> CascadeResult:
        weak_response = await self.weak.request(request)
        results: list[tuple[str, GateResult]] = []
        failed: GateResult | None = None
        for gate in self.gates:
            result = await run_gate(gate, weak_response.text)
            results.append((gate.name, result))
            if not result.passed:
                failed = result
                break
        response = weak_response if failed is None else await self.strong.request(request)
        outcome = CascadeResult(response, failed is not None, weak_response, tuple(results))
        self._trace(outcome)
        return outcome

    def _trace(self, outcome: CascadeResult) -> None:
        current = current_tracer()
        if current is None:
            return
        tracer, parent = current
        name, last = outcome.gate_results[-1]
        chosen = self.strong.model_id if outcome.escalated else self.weak.model_id
        verdict = "failed" if outcome.escalated else "passed"
        tracer.emit(
            RouteEvent,
            parent_id=parent,
            router=self.name,
            candidates=[self.weak.model_id, self.strong.model_id],
            chosen=chosen,
            reason=f"weak answer {verdict} gate {name!r}: {last.reason}",
        )


class CascadeRouter:
    """The cascade's first step as a fast router: always start on the weak route.

    The second step (gate, then strong) runs where the answer is produced: `Cascade.run`,
    or the dispatcher's validation-gate escalation path.
    """

    def __init__(self, *, weak: str = "weak", strong: str = "strong") -> None:
        self.name = "cascade"
        self.weak = weak
        self.strong = strong

    def __call__(self, context: RouteContext) -> RouteDecision:
        if context.candidates and self.weak not in context.candidates:
            return RouteDecision(self.name, None, None, None, f"{self.weak!r} is not a candidate")
        reason = f"cascade: start on {self.weak!r}; a failed gate escalates to {self.strong!r}"
        return RouteDecision(self.name, self.weak, None, None, reason)
