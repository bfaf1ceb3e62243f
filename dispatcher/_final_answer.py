"""What happens when an agent gives its final answer: the finish review, the check that its own
tool results do not contradict it, and its validation gate (escalating when that fails)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dispatcher.detectors.base import Verdict
from dispatcher.errors import RunError
from dispatcher.escalation.episode import EscalationOutcome
from dispatcher.escalation.request import EscalationRequest
from dispatcher.gates import run_gate
from dispatcher.messages import UserMessage
from dispatcher.trace.events import Note

if TYPE_CHECKING:
    from dispatcher.worker import AgentResult, _Loop

__all__ = ["CHECK_SIGNAL", "evidence_summary", "on_final_answer"]

# A tool result carrying this signal is a check (a test run): its verdict bounds the answer.
CHECK_SIGNAL = "tests_failed"


def evidence_summary(verdict: Verdict) -> str:
    parts = [f"{k}={v}" for k, v in verdict.evidence.items() if k != "steps"]
    return "; ".join(parts)[:500] or verdict.verdict


async def _review_finish(loop: _Loop, text: str) -> EscalationOutcome | None:
    """Send a finish a detector flags (no passing test after the last edit) to review."""
    checks = [getattr(d, "at_finish", None) for d in loop.detectors]
    verdicts = [check(loop.steps) for check in checks if check is not None]
    verdict = next((v for v in verdicts if v is not None), None)
    if verdict is None or loop.finish_reviewed:
        return None
    loop.finish_reviewed = True  # once per run: the worker may finish after the advice
    if loop.escalator is None:
        loop._record_verdict(verdict, "record")
        return None
    loop._record_verdict(verdict, "escalate")
    request = EscalationRequest(
        reason=f"{verdict.detector} detector: {verdict.verdict}",
        question="The worker wants to finish with this answer. Is the change right, or "
        "what must it check or fix first?",
        evidence=f"{evidence_summary(verdict)}\nanswer: {text[:1000]}",
    )
    return await loop.escalator.escalate(
        "detector", request, detector_evidence=dict(verdict.evidence)
    )


async def on_final_answer(loop: _Loop, text: str) -> AgentResult | None:
    review = await _review_finish(loop, text)
    if review is not None and review.final_answer is not None:
        return loop._taken_over(review)
    if review is not None and not review.refused and review.message:
        loop.messages.append(UserMessage(f"[dispatcher] review before finishing: {review.message}"))
        return None
    _check_not_contradicted(loop)
    gate = loop.agent.gate
    if gate is None or loop.role != "worker":
        return loop._result(text)
    result = await run_gate(gate, text)
    loop.run_ctx.gate_results.append((loop.agent.name, result.passed))  # gate feedback
    if result.passed:
        return loop._result(text)
    loop.run_ctx.tracer.emit(
        Note,
        parent_id=loop.span,
        agent=loop.agent.name,
        message=f"gate {gate.name} failed: {result.reason}",
        data=dict(result.evidence),
    )
    if loop.escalator is None:
        raise _gate_failed(loop.agent.name, gate.name, result.reason)
    request = EscalationRequest(
        reason=f"validation gate {gate.name} failed: {result.reason}",
        question="The answer failed validation. How should the worker fix it?",
        evidence=text[:1500],
    )
    outcome = await loop.escalator.escalate("gate", request, detector_evidence=None)
    if outcome.final_answer is not None:
        return loop._taken_over(outcome)
    if outcome.refused:
        raise _gate_failed(loop.agent.name, gate.name, result.reason)
    loop.messages.append(UserMessage(f"[dispatcher] {result.reason}\n{outcome.message}"))
    return None


def _check_not_contradicted(loop: _Loop) -> None:
    """An answer given while the agent's latest check (test run) fails is never `ok`."""
    check = loop.last_check
    if check is not None and check.error:
        raise RunError(
            f"agent {loop.agent.name} answered while its latest check failed: {check.tool} "
            f"reported {check.observation[:200]!r}; an answer that its own tool results "
            "contradict cannot finish the run"
        )


def _gate_failed(agent: str, gate: str, reason: str) -> RunError:
    return RunError(f"the answer of agent {agent} failed its validation gate {gate}: {reason}")
