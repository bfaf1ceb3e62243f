"""One escalation episode: check the bounds, brief the overwatch, act on its decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dispatcher.agent import Agent
from dispatcher.detectors.base import Step
from dispatcher.escalation._decision import read_decision
from dispatcher.escalation.request import (
    DECISION_TOOL_NAME,
    EscalationRequest,
    OverwatchDecision,
    build_brief,
    decision_tool,
)
from dispatcher.escalation.settings import EscalationSettings
from dispatcher.messages import ForcedTool, Message, ModelRequest, UserMessage
from dispatcher.models._text_deltas import request_with_text
from dispatcher.redaction import clip
from dispatcher.registry.profiles import ModelProfile, Price
from dispatcher.tools.tool import Tool
from dispatcher.trace.events import EscalationEvent, Note

if TYPE_CHECKING:
    from dispatcher.run_context import RunContext

__all__ = ["EscalationOutcome", "Escalator"]

Trigger = Literal["self", "detector", "gate", "budget"]
Mode = Literal["advise", "take_over", "hand_back"]

OVERWATCH_SYSTEM = (
    "You supervise a smaller worker model that asked for help. Read the brief and reply with "
    "the overwatch_decision tool. Prefer `advise` with precise, actionable guidance (the exact "
    "fix, the right table or column, the corrected code). Choose `take_over` only when the "
    "worker cannot finish even with advice; `hand_back` to take one step yourself first."
)


class WorkerView(Protocol):
    """What an escalation needs from the worker loop that raised it."""

    agent: Agent
    task: str
    run_ctx: RunContext
    profile: ModelProfile
    tools: list[Tool]
    steps: list[Step]
    span: str
    turns: int
    depth: int
    messages: list[Message]


@dataclass(frozen=True, slots=True)
class EscalationOutcome:
    """What the worker does next: read `message`, or stop with `final_answer`."""

    mode: Mode | None
    message: str
    final_answer: str | None = None
    refused: bool = False


def _estimate_usd(price: Price | None, brief: str, output_tokens: int) -> float:
    if price is None:
        return 0.0
    input_tokens = len(brief) / 4 + 300  # ~4 characters a token, plus the system prompt
    return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


class Escalator:
    """Escalations of one worker: enforces quota, depth and budget; counts back-to-back ones."""

    def __init__(self, worker: WorkerView, settings: EscalationSettings) -> None:
        self.worker = worker
        self.settings = settings
        self.count = 0
        self.back_to_back = 0
        self._last_turn: int | None = None

    async def escalate(
        self,
        trigger: Trigger,
        request: EscalationRequest,
        *,
        detector_evidence: Mapping[str, Any] | None,
        force_mode: Mode | None = None,
    ) -> EscalationOutcome:
        worker = self.worker
        run = worker.run_ctx
        overwatch = run.registry.strong_profile()
        span = run.tracer.new_span()
        last_steps = worker.steps[-self.settings.brief_steps :]
        brief = build_brief(
            task=worker.task,
            agent=worker.agent.name,
            trigger=trigger,
            request=request,
            steps=last_steps,
            detector_evidence=detector_evidence,
        )
        if self._last_turn is not None and worker.turns - self._last_turn <= 1:
            self.back_to_back += 1
        refusal = self._refusal(run, overwatch, brief)
        if refusal is not None:
            self._emit(span, trigger, request, overwatch, None, "refused", 0.0, "", refusal)
            return EscalationOutcome(
                None,
                f"Escalation refused ({refusal}). Continue on your own: try a different approach.",
                refused=True,
            )
        self.count += 1
        run.escalations += 1
        decision: OverwatchDecision | None = None
        try:
            decision, cost = await self._decide(overwatch, brief, span, force_mode)
            outcome, extra = await self._act(decision, overwatch, brief, span)
        except Exception:
            # The decision, when there was one, is part of what failed (e.g. a take-over that
            # ran out of budget): the trace keeps it.
            mode = decision.mode if decision is not None else None
            guidance = decision.guidance if decision is not None else ""
            self._emit(span, trigger, request, overwatch, mode, "failed", 0.0, guidance, None)
            raise
        finally:
            self._last_turn = worker.turns
        result = {"advise": "advised", "take_over": "took_over", "hand_back": "handed_back"}
        self._emit(
            span,
            trigger,
            request,
            overwatch,
            decision.mode,
            result[decision.mode],  # type: ignore[arg-type]
            cost + extra,
            decision.guidance,
            None,
        )
        return outcome

    def _system(self) -> str:
        """The registered overwatch agent's instructions, else the built-in prompt."""
        for agent in self.worker.run_ctx.registry.agents.values():
            if agent.role == "overwatch" and agent.instructions:
                return agent.instructions
        return OVERWATCH_SYSTEM

    def _refusal(self, run: RunContext, overwatch: ModelProfile, brief: str) -> str | None:
        if self.count >= self.settings.quota:
            return f"quota of {self.settings.quota} escalations per task used up"
        if self.worker.depth + 1 > self.settings.max_depth:
            return f"depth limit {self.settings.max_depth} reached"
        remaining = run.budget.remaining_usd
        if remaining is not None:
            estimate = _estimate_usd(overwatch.price, brief, self.settings.max_output_tokens)
            if estimate > remaining:
                return (
                    f"estimated cost ${estimate:.4f} exceeds the remaining budget ${remaining:.4f}"
                )
        return None

    async def _decide(
        self, overwatch: ModelProfile, brief: str, span: str, force_mode: Mode | None
    ) -> tuple[OverwatchDecision, float]:
        worker = self.worker
        run = worker.run_ctx
        modes: Sequence[str]
        if force_mode is not None:
            modes = (force_mode,)
        elif self.settings.mode != "auto":
            modes = (self.settings.mode,)
        else:
            modes = self.settings.modes
        run.budget.check()
        request = ModelRequest(
            messages=[UserMessage(brief)],
            system=self._system(),
            tools=[decision_tool(modes)],
            tool_choice=ForcedTool(DECISION_TOOL_NAME),
            max_output_tokens=self.settings.max_output_tokens,
            metadata={"agent": f"{worker.agent.name}-overwatch", "role": "overwatch"},
        )
        response = await request_with_text(run.registry.model(overwatch.name), request)
        cost = run.record_model_call(
            agent=f"{worker.agent.name}-overwatch",
            profile=overwatch,
            response=response,
            parent_id=span,
        )
        read = read_decision(response.text, response.tool_calls, modes)
        if read.problem is not None:
            run.tracer.emit(
                Note,
                parent_id=span,
                agent=f"{worker.agent.name}-overwatch",
                message=f"the overwatch's decision was not understood as sent: {read.problem}",
            )
        return read.decision, cost or 0.0

    async def _act(
        self, decision: OverwatchDecision, overwatch: ModelProfile, brief: str, span: str
    ) -> tuple[EscalationOutcome, float]:
        from dispatcher.worker import run_overwatch

        worker = self.worker
        if decision.mode == "advise":
            message = f"Advice from the overwatch (a stronger model): {decision.guidance}"
            return EscalationOutcome("advise", message), 0.0
        if decision.mode == "take_over":
            result = await run_overwatch(
                worker.agent,
                f"{brief}\n\nYour plan: {decision.guidance}\n\nFinish the task: {worker.task}",
                worker.run_ctx,
                profile=overwatch,
                tools=worker.tools,
                parent_id=span,
            )
            return EscalationOutcome("take_over", "", final_answer=result.output), result.cost_usd
        return await self._hand_back(decision, overwatch, brief, span)

    async def _hand_back(
        self, decision: OverwatchDecision, overwatch: ModelProfile, brief: str, span: str
    ) -> tuple[EscalationOutcome, float]:
        """The overwatch takes one step with the worker's own tools, then returns control."""
        from dispatcher.tools.executor import tool_index

        worker = self.worker
        run = worker.run_ctx
        run.budget.check()
        request = ModelRequest(
            messages=[UserMessage(f"{brief}\n\nTake ONE step with the tools: {decision.guidance}")],
            system=self._system(),
            tools=[t.spec for t in worker.tools],
            tool_choice="required" if worker.tools else "auto",
            max_output_tokens=self.settings.max_output_tokens,
            metadata={"agent": f"{worker.agent.name}-overwatch", "role": "overwatch"},
        )
        response = await request_with_text(run.registry.model(overwatch.name), request)
        cost = run.record_model_call(
            agent=f"{worker.agent.name}-overwatch",
            profile=overwatch,
            response=response,
            parent_id=span,
        )
        lines = [f"The overwatch (a stronger model) took one step. Guidance: {decision.guidance}"]
        tools = tool_index(worker.tools)
        for call in response.tool_calls:
            execution = await run.executor.execute(
                call,
                tools,
                agent=f"{worker.agent.name}-overwatch",
                step_index=0,
                parent_id=span,
            )
            lines.append(f"It ran {execution.step.action} and got:\n{execution.message.content}")
        if response.text:
            lines.append(f"It said: {response.text}")
        lines.append("Continue the task from here.")
        return EscalationOutcome("hand_back", "\n".join(lines)), cost or 0.0

    def _emit(
        self,
        span: str,
        trigger: Trigger,
        request: EscalationRequest,
        overwatch: ModelProfile,
        mode: Mode | None,
        outcome: Literal["advised", "took_over", "handed_back", "refused", "failed"],
        cost: float,
        guidance: str,
        refused_because: str | None,
    ) -> None:
        worker = self.worker
        worker.run_ctx.tracer.emit(
            EscalationEvent,
            span_id=span,
            parent_id=worker.span,
            trigger=trigger,
            reason=request.reason,
            from_model=worker.profile.name,
            to_model=overwatch.name,
            mode=mode,
            outcome=outcome,
            cost_usd=cost if overwatch.price is not None else None,
            agent=worker.agent.name,
            question=request.question,
            guidance=clip(guidance, 2000),
            refused_because=refused_because,
            back_to_back=self.back_to_back,
            depth=worker.depth + 1,
        )
