"""The dispatcher model's turns: it picks specialists by forced tool choice until it answers.

Each turn's choices are checked against the specialists' JSON Schema (`dispatcher.choice`);
invalid ones are asked again (`max_reasks` in a row), then the default route takes the task,
or the strong model chooses once. Every choice, valid or not, is a `route` event.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dispatcher.choice import (
    Choice,
    ChoiceSchema,
    read_choices,
    reask_messages,
    result_messages,
)
from dispatcher.errors import RunError
from dispatcher.messages import (
    Message,
    ModelRequest,
    ModelResponse,
    ToolChoice,
    UserMessage,
)
from dispatcher.models._text_deltas import request_with_text
from dispatcher.redaction import clip
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import Registry
from dispatcher.run_context import RunContext
from dispatcher.runner import RunOutcome
from dispatcher.trace.events import AgentFinished, AgentStarted, Note, RouteEvent
from dispatcher.trace.tracer import use_tracer

__all__ = ["DISPATCHER_AGENT", "ChoiceLoop", "Delegate"]

# Runs the chosen specialists: (choices, run, parent span, tier) -> their answers, in order.
Delegate = Callable[[Sequence[Choice], RunContext, str | None, str | None], Awaitable[list[str]]]

DISPATCHER_SYSTEM = """You are a dispatcher. You never do the work yourself: you delegate it to \
specialists by calling them as tools, then combine their results into the final answer.
- Split a multi-part task into self-contained sub-tasks; call independent ones in the same turn.
- Give each specialist everything it needs in `task`: it cannot see the conversation.
- When every part is answered, reply with the final answer as plain text (no tool call)."""

JSON_MODE_SUFFIX = """
Your model has no tool calling: reply with ONE JSON object only, either
{"tool": "<specialist>", "arguments": {...}} to delegate, or {"final_answer": "..."} when done.
Specialists:
"""

DISPATCHER_AGENT = "dispatcher"


@dataclass(frozen=True, slots=True)
class ChoiceLoop:
    """The dispatcher model's conversation for one task (the Dispatcher's settings)."""

    registry: Registry
    model_name: str | None
    max_turns: int
    max_reasks: int
    default_route: str | None
    delegate: Delegate

    def _profile(self) -> ModelProfile:
        if self.model_name:
            return self.registry.profile(self.model_name)
        return self.registry.tier_profile("weak")

    async def run(
        self,
        task: str,
        schema: ChoiceSchema,
        run: RunContext,
        outcome: RunOutcome,
        tier: str | None,
    ) -> str:
        profile = self._profile()
        span = run.tracer.new_span()
        run.tracer.emit(
            AgentStarted,
            span_id=span,
            agent=DISPATCHER_AGENT,
            model=profile.name,
            tier=profile.tier,
            input=clip(task, 2000),
            role="dispatcher",
        )
        messages: list[Message] = [UserMessage(task)]
        invalid_streak = 0
        with use_tracer(run.tracer, span):
            for turn in range(1, self.max_turns + 1):
                response = await self._ask_model(profile, schema, messages, run, span, turn)
                choices, errors, final = read_choices(
                    response, schema, native=profile.supports_tools
                )
                attempt = invalid_streak + 1
                for _, raw, error in errors:
                    run.tracer.emit(
                        RouteEvent,
                        parent_id=span,
                        router="dispatcher_model",
                        candidates=schema.names,
                        chosen=None,
                        reason=f"invalid choice: {error}",
                        raw_output=clip(raw, 4000),
                        valid=False,
                        attempt=attempt,
                    )
                if errors and not choices:
                    invalid_streak += 1
                    if invalid_streak > self.max_reasks:
                        answer = await self._fallback(task, schema, run, span, errors[-1][2])
                        outcome.routes.append(self.default_route or "overwatch")
                        self._finish(run, span, answer, turn)
                        return answer
                    messages.extend(reask_messages(response, errors, profile.supports_tools))
                    continue
                invalid_streak = 0
                if final is not None and not choices:
                    self._finish(run, span, final, turn)
                    return final
                for _, choice in choices:
                    run.tracer.emit(
                        RouteEvent,
                        parent_id=span,
                        router="dispatcher_model",
                        candidates=schema.names,
                        chosen=choice.tool,
                        reason="tool choice by the dispatcher model",
                        arguments=dict(choice.arguments),
                        raw_output=json.dumps({"tool": choice.tool, "arguments": choice.arguments}),
                        attempt=attempt,
                    )
                    outcome.routes.append(choice.tool)
                results = await self.delegate([c for _, c in choices], run, span, tier)
                messages.extend(
                    result_messages(
                        response, choices, errors, results, native=profile.supports_tools
                    )
                )
        raise RunError(f"the dispatcher gave no final answer within {self.max_turns} turns")

    async def _ask_model(
        self,
        profile: ModelProfile,
        schema: ChoiceSchema,
        messages: list[Message],
        run: RunContext,
        span: str,
        turn: int,
    ) -> ModelResponse:
        run.budget.check()
        native = profile.supports_tools
        tool_choice: ToolChoice = "required" if turn == 1 else "auto"
        system = DISPATCHER_SYSTEM
        if not native:
            system += JSON_MODE_SUFFIX + "\n".join(
                f"- {a.name}: {a.description} arguments schema: {json.dumps(dict(a.input_schema))}"
                for a in schema.specialists.values()
            )
        request = ModelRequest(
            messages=list(messages),
            system=system,
            tools=schema.tool_specs() if native else (),
            tool_choice=tool_choice if native else "auto",
            response_schema=None if native else schema.schema,
            max_output_tokens=profile.max_output_tokens,
            metadata={"agent": DISPATCHER_AGENT, "role": "dispatcher"},
        )
        response = await request_with_text(self.registry.model(profile.name), request)
        run.record_model_call(
            agent=DISPATCHER_AGENT, profile=profile, response=response, parent_id=span
        )
        return response

    async def _fallback(
        self, task: str, schema: ChoiceSchema, run: RunContext, span: str, error: str
    ) -> str:
        """After too many invalid choices: the default route, else the strong model chooses."""
        if self.default_route is not None:
            run.tracer.emit(
                RouteEvent,
                parent_id=span,
                router="default_route",
                candidates=schema.names,
                chosen=self.default_route,
                reason=f"dispatcher model failed {self.max_reasks + 1} times ({error})",
            )
            return (
                await self.delegate([Choice(self.default_route, {"task": task})], run, span, None)
            )[0]
        strong = self.registry.strong_profile()
        run.tracer.emit(
            Note,
            parent_id=span,
            agent=DISPATCHER_AGENT,
            message=f"no default route: asking the strong model {strong.name} to choose",
        )
        response = await self._ask_model(strong, schema, [UserMessage(task)], run, span, 1)
        choices, errors, _ = read_choices(response, schema, native=strong.supports_tools)
        if not choices:
            raise RunError(
                f"no valid specialist choice after {self.max_reasks + 1} attempts and the strong "
                f"model's attempt: {errors[-1][2] if errors else 'no choice made'}"
            )
        run.tracer.emit(
            RouteEvent,
            parent_id=span,
            router="dispatcher_model_strong",
            candidates=schema.names,
            chosen=choices[0][1].tool,
            reason="the strong model chose after the dispatcher model failed",
            arguments=dict(choices[0][1].arguments),
        )
        return (await self.delegate([choices[0][1]], run, span, None))[0]

    def _finish(self, run: RunContext, span: str, answer: str, turns: int) -> None:
        run.tracer.emit(
            AgentFinished,
            parent_id=span,
            agent=DISPATCHER_AGENT,
            status="ok",
            output=clip(answer, 2000),
            turns=turns,
        )
