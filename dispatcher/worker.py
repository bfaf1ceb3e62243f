"""The worker loop: model ⇄ tools until a final answer, watched by detectors, able to escalate."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import anyio

from dispatcher._agent_settings import detector_settings, escalate_spec, escalation_settings
from dispatcher._final_answer import CHECK_SIGNAL, evidence_summary, on_final_answer
from dispatcher._model_json import loads_model_json
from dispatcher.agent import Agent
from dispatcher.budgets import Budgets, BudgetTracker
from dispatcher.detectors.base import Detector, Step, Verdict
from dispatcher.errors import BudgetExceeded, EscalationRefused, describe
from dispatcher.escalation.episode import EscalationOutcome, Escalator
from dispatcher.escalation.request import (
    ESCALATE_TOOL_NAME,
    EscalationRequest,
    parse_escalation_request,
)
from dispatcher.escalation.settings import EscalationSettings
from dispatcher.messages import (
    Message,
    ModelRequest,
    ToolCall,
    ToolResultMessage,
    UserMessage,
)
from dispatcher.models import retry_deadline
from dispatcher.models._text_deltas import request_with_text
from dispatcher.redaction import clip, redact
from dispatcher.registry._approval_names import check_approval_names
from dispatcher.registry.profiles import ModelProfile
from dispatcher.run_context import RunContext
from dispatcher.tools.executor import tool_index
from dispatcher.tools.tool import Tool
from dispatcher.trace.events import AgentFinished, AgentStarted, DetectorVerdictEvent, Note
from dispatcher.trace.tracer import use_tracer

__all__ = ["AgentResult", "run_agent", "run_overwatch"]

Role = Literal["worker", "overwatch"]

# Escalations refused (quota, depth, budget) while the worker is still stuck: on the second
# one the worker stops instead of calling the model until some budget runs out.
_MAX_REFUSED_ESCALATIONS = 2


@dataclass(frozen=True, slots=True)
class AgentResult:
    """What one agent produced."""

    agent: str
    output: str
    turns: int
    escalations: int = 0
    taken_over: bool = False
    cost_usd: float = 0.0


class _Loop:
    """One agent's conversation; `run()` returns its final text."""

    def __init__(
        self,
        agent: Agent,
        task: str,
        run: RunContext,
        *,
        profile: ModelProfile,
        tools: Sequence[Tool],
        role: Role,
        parent_id: str | None,
        escalation: EscalationSettings | None,
        messages: list[Message] | None = None,
    ) -> None:
        self.agent = agent
        self.task = task
        self.run_ctx = run
        self.profile = profile
        self.tools = list(tools)
        self.by_name = tool_index(self.tools)
        self.role = role
        self.depth = 0 if role == "worker" else 1
        self.escalation = escalation
        self.messages: list[Message] = messages or [UserMessage(task)]
        self.limits = BudgetTracker(agent.budget_limits or Budgets())
        self.span = run.tracer.new_span()
        self.parent_id = parent_id
        self.steps: list[Step] = []
        self.step_index = 0
        self.detector_settings = detector_settings(agent, run) if role == "worker" else None
        self.detectors: list[Detector] = self._new_detectors()
        self.detector_firings = 0
        self.finish_reviewed = False
        self.refusals = 0
        self.escalator = (
            Escalator(self, escalation) if escalation is not None and escalation.enabled else None
        )
        specs = [t.spec for t in self.tools]
        if self.escalator is not None:
            specs.append(escalate_spec())
        self.specs = specs
        self.system = agent.instructions
        self.turns = 0
        self.cost_usd = 0.0
        self.metadata = {"agent": agent.name, "role": role}
        self.last_check: Step | None = None

    # -- main loop ---------------------------------------------------------------------------

    async def run(self) -> AgentResult:
        tracer = self.run_ctx.tracer
        tracer.emit(
            AgentStarted,
            span_id=self.span,
            parent_id=self.parent_id,
            agent=self.agent.name,
            model=self.profile.name,
            tier=self.profile.tier,
            input=clip(self.task, 2000),
            role=self.role,
        )
        try:
            with use_tracer(tracer, self.span):
                result = await self._loop()
        except BaseException as exc:
            status = "budget_exceeded" if isinstance(exc, BudgetExceeded) else "error"
            if not isinstance(exc, Exception):
                status = "cancelled"
            tracer.emit(
                AgentFinished,
                parent_id=self.span,
                agent=self.agent.name,
                status=status,
                turns=self.turns,
                error=describe(exc),
            )
            raise
        tracer.emit(
            AgentFinished,
            parent_id=self.span,
            agent=self.agent.name,
            status="ok",
            output=clip(result.output, 2000),
            turns=result.turns,
            cost_usd=self.cost_usd if self.profile.priced else None,
        )
        return result

    async def _loop(self) -> AgentResult:
        model = self.run_ctx.registry.model(self.profile.name)
        while True:
            try:
                self.run_ctx.budget.check()
                self.limits.check()
            except BudgetExceeded as exc:
                outcome = await self._on_own_budget(exc)
                if outcome is not None:
                    return outcome
                raise
            request = ModelRequest(
                messages=tuple(self.messages),
                system=self.system,
                tools=self.specs,
                max_output_tokens=self.profile.max_output_tokens,
                metadata=self.metadata,
            )
            if self.limits.deadline is None:  # the block below would change nothing
                response = await request_with_text(model, request)
            else:
                # The agent's own wall_s: no retry waits past it, and a request that goes
                # silent is cut at it.
                left = self.limits.seconds_left() or 0.0
                with (
                    retry_deadline(self.limits.deadline),
                    anyio.CancelScope(deadline=anyio.current_time() + left) as wall,
                ):
                    response = await request_with_text(model, request)
                if wall.cancelled_caught:
                    raise self.limits.wall_time_exceeded()
            self.turns += 1
            cost = self.run_ctx.record_model_call(
                agent=self.agent.name, profile=self.profile, response=response, parent_id=self.span
            )
            self.limits.record_model_call(response.usage.total_tokens, cost)
            self.cost_usd += cost or 0.0
            self.messages.append(response.to_message())
            if not response.tool_calls:
                final = await on_final_answer(self, response.text)
                if final is not None:
                    return final
                continue
            taken_over = await self._run_tool_calls(response.tool_calls, response.text)
            if taken_over is not None:
                return taken_over

    async def _run_tool_calls(self, calls: Sequence[ToolCall], text: str) -> AgentResult | None:
        executor = self.run_ctx.executor
        for call in calls:
            self.run_ctx.budget.check_tool_call()
            self.run_ctx.budget.tool_calls += 1
            if call.name == ESCALATE_TOOL_NAME and self.escalator is not None:
                outcome = await self._self_escalation(call)
                if outcome is not None and outcome.final_answer is not None:
                    return self._taken_over(outcome)
                continue
            self.step_index += 1
            execution = await executor.execute(
                call,
                self.by_name,
                agent=self.agent.name,
                step_index=self.step_index,
                parent_id=self.span,
                text=text,
            )
            self.messages.append(execution.message)
            self.steps.append(execution.step)
            if CHECK_SIGNAL in execution.step.signals:
                self.last_check = execution.step
            outcome = await self._watch()
            if outcome is not None and outcome.final_answer is not None:
                return self._taken_over(outcome)
        return None

    # -- detectors -----------------------------------------------------------------------

    async def _watch(self) -> EscalationOutcome | None:
        """Ask every detector about the steps so far; nudge, then escalate."""
        verdict: Verdict | None = None
        for detector in self.detectors:
            found = detector(self.steps)
            if found is not None and verdict is None:
                verdict = found
            elif found is not None:
                self._record_verdict(found, "record")
        if verdict is None:
            return None
        self.detector_firings += 1
        settings = self.escalation
        nudge = (
            settings is None
            or not settings.enabled
            or self.detector_firings <= settings.nudges
            or self.escalator is None
        )
        self._record_verdict(verdict, "nudge" if nudge else "escalate")
        if nudge:
            self._append_note(
                "You seem to be stuck "
                f"({verdict.verdict}: {evidence_summary(verdict)}). Change your approach: "
                "re-read the errors, try something different"
                + (", or call `escalate` to ask for help." if self.escalator else ".")
            )
            self._reset_detectors()
            return None
        assert self.escalator is not None
        request = EscalationRequest(
            reason=f"{verdict.detector} detector: {verdict.verdict}",
            question="The worker is not making progress. What should it do next?",
            evidence=evidence_summary(verdict),
        )
        outcome = await self.escalator.escalate(
            "detector", request, detector_evidence=dict(verdict.evidence)
        )
        self._reset_detectors()
        self._count_refusal(outcome, verdict.verdict)
        if outcome.final_answer is None and outcome.message:
            self._append_note(outcome.message)
        return outcome

    def _count_refusal(self, outcome: EscalationOutcome, why: str) -> None:
        """Still stuck after escalation was refused this often: stop instead of calling the
        model until a budget runs out (with none configured, that would be the turn cap)."""
        if not outcome.refused:
            return
        self.refusals += 1
        if self.refusals >= _MAX_REFUSED_ESCALATIONS:
            raise EscalationRefused(
                f"agent {self.agent.name!r} is still stuck ({why}) and its escalation was "
                f"refused {self.refusals} times ({outcome.message.split('(', 1)[-1].split(')')[0]})"
                "; the run stops rather than keep calling the model",
                events=self.run_ctx.tracer.events,
                trace_path=self.run_ctx.trace_path,
            )

    def _record_verdict(
        self, verdict: Verdict, action: Literal["nudge", "escalate", "record"]
    ) -> None:
        self.run_ctx.tracer.emit(
            DetectorVerdictEvent,
            parent_id=self.span,
            detector=verdict.detector,
            agent=self.agent.name,
            verdict=verdict.verdict,
            evidence={**dict(verdict.evidence), "score": verdict.score},
            step=verdict.step,
            action=action,
        )

    def _reset_detectors(self) -> None:
        # A fresh window after an intervention, so the same history does not fire again.
        self.steps = []
        self.detectors = self._new_detectors()

    def _new_detectors(self) -> list[Detector]:
        if self.detector_settings is None:
            return []
        from dispatcher.detectors import build_detectors

        return list(build_detectors(self.detector_settings))

    def _append_note(self, text: str) -> None:
        """Add framework text to the last tool result (keeps provider turn order valid)."""
        last = self.messages[-1]
        note = f"\n\n[dispatcher] {text}"
        if isinstance(last, ToolResultMessage):
            self.messages[-1] = dataclasses.replace(last, content=last.content + note)
        else:
            self.messages.append(UserMessage(note.strip()))
        self.run_ctx.tracer.emit(Note, parent_id=self.span, agent=self.agent.name, message=text)

    # -- escalation triggers ---------------------------------------------------------------

    async def _self_escalation(self, call: ToolCall) -> EscalationOutcome | None:
        assert self.escalator is not None
        try:
            arguments = loads_model_json(call.arguments or "{}")
        except json.JSONDecodeError:
            arguments = None
        parsed = (
            parse_escalation_request(arguments)
            if isinstance(arguments, dict)
            else "Error: escalate needs a JSON object with reason and question."
        )
        if isinstance(parsed, str):
            # Traced, capped and watched like any invalid call: a model that keeps sending a
            # malformed `escalate` used to burn turns unseen until the turn budget ended.
            self.step_index += 1
            execution = self.run_ctx.executor.refuse(
                call, parsed, agent=self.agent.name, step_index=self.step_index, parent_id=self.span
            )
            self.messages.append(execution.message)
            self.steps.append(execution.step)
            return await self._watch()
        outcome = await self.escalator.escalate("self", parsed, detector_evidence=None)
        self._count_refusal(outcome, "it asked for help")
        if outcome.final_answer is None:
            self.messages.append(
                ToolResultMessage(call.id, call.name, outcome.message, is_error=outcome.refused)
            )
            self._reset_detectors()
        return outcome

    async def _on_own_budget(self, exc: BudgetExceeded) -> AgentResult | None:
        """The agent's own budget ran out: hand the task to the overwatch if allowed."""
        if self.escalator is None or self.escalation is None or not self.escalation.on_budget:
            return None
        if self.limits.budgets.turns is None or self.limits.turns < self.limits.budgets.turns:
            return None  # a run-level budget: escalating would spend more of it
        request = EscalationRequest(
            reason=f"the worker used its whole {exc.budget} budget ({exc.spent:g})",
            question="Finish the task.",
        )
        outcome = await self.escalator.escalate(
            "budget", request, detector_evidence=None, force_mode="take_over"
        )
        return self._taken_over(outcome) if outcome.final_answer is not None else None

    def _result(self, text: str, *, taken_over: bool = False) -> AgentResult:
        return AgentResult(
            self.agent.name,
            redact(text),  # a result field: a key the model repeats does not leave here
            self.turns,
            self._escalation_count(),
            taken_over=taken_over,
            cost_usd=self.cost_usd,
        )

    def _taken_over(self, outcome: EscalationOutcome) -> AgentResult:
        assert outcome.final_answer is not None
        return self._result(outcome.final_answer, taken_over=True)

    def _escalation_count(self) -> int:
        return self.escalator.count if self.escalator else 0


async def run_agent(
    agent: Agent,
    task: str,
    run: RunContext,
    *,
    parent_id: str | None = None,
    model: str | None = None,
) -> AgentResult:
    """Run one agent on `task` to a final answer (escalating as its settings allow)."""
    registry = run.registry
    profile = registry.profile(model) if model else registry.profile_for(agent)
    tools = registry.tools_for(agent)
    if agent.mcp_servers:
        from dispatcher.mcp._agent_tools import mcp_tools_for

        tools = [*tools, *await mcp_tools_for(agent, run)]
    # Checked here too (Registry.check is optional from code): MCP tools are known by now.
    check_approval_names(
        agent.requires_approval,
        {n for t in tools for n in (t.name, t.wire_name)},
        set(),
        entry=f"agent {agent.name!r} ({agent.source})",
        file=None,
    )
    approval_names = [*agent.requires_approval, *registry.config.settings.requires_approval]
    if approval_names:  # the overwatch's take-over gets these same tools, approvals included
        from dispatcher.approvals import mark_approvals

        tools = mark_approvals(tools, approval_names)
    loop = _Loop(
        agent,
        task,
        run,
        profile=profile,
        tools=tools,
        role="worker",
        parent_id=parent_id,
        escalation=escalation_settings(agent, run),
    )
    return await loop.run()


async def run_overwatch(
    agent: Agent,
    brief: str,
    run: RunContext,
    *,
    profile: ModelProfile,
    tools: Sequence[Tool],
    parent_id: str | None,
) -> AgentResult:
    """The strong model finishes a task itself: same tools, no escalation, no detectors."""
    overwatch = dataclasses.replace(
        agent,
        name=f"{agent.name}-overwatch",
        instructions=(
            "You are the overwatch: a strong model taking over a task a smaller worker could "
            "not finish. Use the tools, then give the final answer.\n\n" + agent.instructions
        ),
        budgets=None,
        gate=None,
    )
    loop = _Loop(
        overwatch,
        brief,
        run,
        profile=profile,
        tools=tools,
        role="overwatch",
        parent_id=parent_id,
        escalation=None,
    )
    return await loop.run()
