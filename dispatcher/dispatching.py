"""The dispatcher agent: reads a task, delegates to specialists, returns the final answer."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from dispatcher._dispatcher_options import checked_options
from dispatcher._unicode import is_encodable
from dispatcher.agent import Agent
from dispatcher.budgets import Budgets
from dispatcher.choice import (
    Choice,
    ChoiceSchema,
    read_choices,
    reask_messages,
    result_messages,
)
from dispatcher.errors import ConfigError, RunError
from dispatcher.messages import (
    Message,
    ModelRequest,
    ModelResponse,
    ToolChoice,
    UserMessage,
)
from dispatcher.redaction import redact
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import Registry
from dispatcher.run_context import RunContext
from dispatcher.runner import RunOutcome, RunResult, run_session
from dispatcher.trace.events import AgentFinished, AgentStarted, Note, RouteEvent
from dispatcher.trace.sink import TraceSink
from dispatcher.trace.tracer import use_tracer
from dispatcher.worker import run_agent

if TYPE_CHECKING:
    from dispatcher._streaming import RunStream
    from dispatcher.approvals import Approver
    from dispatcher.mcp._hub import MCPHub
    from dispatcher.routing.base import Router
    from dispatcher.state import DailySpendCap

__all__ = ["Dispatcher"]

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


class Dispatcher:
    """Delegates tasks to registered specialists; a fast router may decide first."""

    def __init__(
        self,
        registry: Registry,
        *,
        model: str | None = None,
        router: Router | None = None,
        default_route: str | None = None,
        max_reasks: int = 2,
        max_turns: int = 12,
        runs_dir: str | Path | None = None,
        budgets: Budgets | Mapping[str, Any] | None = None,
        sinks: Sequence[TraceSink] = (),
        checks: Sequence[Callable[[str], None]] = (),
        spend_cap: DailySpendCap | None = None,
    ) -> None:
        """`checks` are called with the final answer before the run finishes; one that raises
        fails the run (e.g. a replay whose cassette was not used up)."""
        budgets = checked_options(
            registry,
            router=router,
            max_reasks=max_reasks,
            max_turns=max_turns,
            budgets=budgets,
            sinks=sinks,
            checks=checks,
        )
        settings = registry.config.settings
        self.registry = registry
        self.model_name = model or settings.dispatcher_model
        self.router = router
        self.default_route = default_route or settings.default_route
        self.max_reasks = max_reasks
        self.max_turns = max_turns
        self.runs_dir = Path(runs_dir) if runs_dir is not None else None
        self.budgets = budgets
        self.sinks = list(sinks)
        self.checks = list(checks)
        self._mcp: MCPHub | None = None  # shared by every run inside `async with dispatcher`
        self.spend_cap = spend_cap  # a budget across runs (and processes, with Redis state)
        if self.default_route is not None and self.default_route not in registry.agents:
            raise ConfigError(
                f"default_route {self.default_route!r} is not a registered agent",
                entry="dispatcher.default_route",
                fix=f"use one of: {', '.join(registry.agents) or '(no agents registered)'}",
            )

    @classmethod
    def from_config(
        cls, path: str | Path, *, agents: Sequence[Agent] = (), **options: Any
    ) -> Dispatcher:
        """Load a registry file, register `agents`, and check everything resolves."""
        registry = Registry.from_file(path)
        for agent in agents:
            registry.register(agent)
        registry.check()
        if options.get("router") is None and registry.config.settings.router:
            from dispatcher.routing import build_router

            options["router"] = build_router(
                registry.config.settings.router, base_dir=registry.config.base_dir
            )
        _use_shared_state(registry, options)
        return cls(registry, **options)

    # -- entry points ------------------------------------------------------------------------

    async def __aenter__(self) -> Dispatcher:
        """Start MCP servers once for every run inside the block (else each run starts its own)."""
        from dispatcher.mcp._hub import MCPHub

        hub = MCPHub()
        await hub.__aenter__()
        self._mcp = hub
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        hub, self._mcp = self._mcp, None
        if hub is not None:
            await hub.__aexit__(*exc_info)

    def run_sync(
        self, task: str, *, run_id: str | None = None, approve: Approver | None = None
    ) -> RunResult:
        """Run to completion from synchronous code."""
        result: RunResult = anyio.run(
            functools.partial(self.run, task, run_id=run_id, approve=approve)
        )
        return result

    def stream(
        self,
        task: str,
        *,
        run_id: str | None = None,
        approve: Approver | None = None,
        model_text: bool = False,
    ) -> RunStream:
        """Run `task`, yielding its trace events as they happen and then its answer text.

        Use as `async with dispatcher.stream(task) as events: async for item in events`.
        With `model_text`, models' text also arrives as they write it (`ModelTextDelta`).
        """
        from dispatcher._streaming import RunStream

        work = functools.partial(self._run_into, task, run_id, approve)
        return RunStream(work, model_text=model_text)

    async def _run_into(
        self,
        task: str,
        run_id: str | None,
        approve: Approver | None,
        sinks: Sequence[TraceSink],
    ) -> RunResult:
        return await self.run(task, run_id=run_id, sinks=sinks, approve=approve)

    async def run(
        self,
        task: str,
        *,
        run_id: str | None = None,
        sinks: Sequence[TraceSink] = (),
        approve: Approver | None = None,
    ) -> RunResult:
        """Route `task`, run the specialists, and return the answer with its costs and trace.

        `sinks` receive this run's events besides the dispatcher's own sinks. `approve` decides
        the calls of tools that require approval (see `dispatcher.approvals`); without it they
        are denied.
        """
        if not isinstance(task, str):
            raise ConfigError(
                f"the task must be text, got {type(task).__name__}", fix="pass the task as a str"
            )
        if not task.strip():
            raise ConfigError("the task is empty", fix="pass the task text to run")
        if not is_encodable(task):
            raise ConfigError(
                "the task holds a lone surrogate (such as \\ud800), which is not a character",
                fix="pass the task as plain Unicode text (decode bytes with errors='replace')",
            )
        if self.spend_cap is not None:  # a network call with Redis: off the event loop
            await anyio.to_thread.run_sync(self.spend_cap.check)
        opened: list[RunContext] = []
        try:
            result = await self._run(task, run_id, sinks, approve, opened)
        except RunError:
            if opened:
                self._feedback_from_gates(opened[0])
            raise
        self._feedback_from_gates(opened[0])
        return result

    async def _run(
        self,
        task: str,
        run_id: str | None,
        sinks: Sequence[TraceSink],
        approve: Approver | None,
        opened: list[RunContext],
    ) -> RunResult:
        async with run_session(
            self.registry,
            task,
            entry=DISPATCHER_AGENT,
            runs_dir=self.runs_dir,
            budgets=self.budgets,
            sinks=[*self.sinks, *sinks],
            run_id=run_id,
            mcp=self._mcp,
        ) as (run, outcome):
            opened.append(run)
            from dispatcher.approvals import ApprovalGate

            run.executor.approvals = ApprovalGate(
                approve, timeout_s=self.registry.config.settings.approval_timeout_s
            )
            outcome.answer = await self._dispatch(task, run, outcome)
            for check in self.checks:
                check(outcome.answer)
        result = _result(run, outcome)
        result.router = self.router
        if self.spend_cap is not None:
            await anyio.to_thread.run_sync(self.spend_cap.charge, result.cost_usd)
        return result

    def _feedback_from_gates(self, run: RunContext) -> None:
        """With `dispatcher.feedback.from_gates`, the gates' verdict rewards the router's route."""
        spec = self.registry.config.settings.feedback
        if not spec.from_gates or self.router is None or run.trace_path is None:
            return
        if not run.gate_results:
            return  # no gate judged this run: nothing to learn
        from dispatcher.feedback import LearningRouter, give_feedback

        if not isinstance(self.router, LearningRouter):
            return
        passed = all(ok for _, ok in run.gate_results)
        try:
            give_feedback(
                run.trace_path, self.router, spec.passed if passed else spec.failed, source="gate"
            )
        except ConfigError:
            return  # the router made no decision in this run (its model chose instead)

    # -- routing ------------------------------------------------------------------------------

    async def _dispatch(self, task: str, run: RunContext, outcome: RunOutcome) -> str:
        specialists = [a for a in self.registry.agents.values() if a.role == "specialist"]
        if not specialists:
            raise ConfigError("no specialists are registered", fix="register at least one agent")
        schema = ChoiceSchema(specialists)
        tier = None
        if self.router is not None:
            decision = await self._ask_router(task, schema, run)
            if decision in schema.specialists:
                outcome.routes.append(decision)
                choice = Choice(decision, {"task": task})
                return (await self._delegate([choice], run, None, None))[0]
            tier = decision
        return await self._model_loop(task, schema, run, outcome, tier)

    async def _ask_router(self, task: str, schema: ChoiceSchema, run: RunContext) -> str | None:
        from dispatcher.routing.base import RouteContext

        assert self.router is not None
        candidates = (*schema.names, "strong", "weak")
        decision = self.router(RouteContext(prompt=task, candidates=candidates))
        run.tracer.emit(
            RouteEvent,
            router=decision.router,
            candidates=list(candidates),
            chosen=decision.chosen,
            score=decision.score,
            threshold=decision.threshold,
            reason=decision.reason
            or ("unsure: asking the dispatcher model" if decision.chosen is None else ""),
        )
        return decision.chosen

    def _profile(self) -> ModelProfile:
        if self.model_name:
            return self.registry.profile(self.model_name)
        return self.registry.tier_profile("weak")

    async def _model_loop(
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
            input=task[:2000],
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
                        raw_output=raw[:4000],
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
                results = await self._delegate([c for _, c in choices], run, span, tier)
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
        response = await self.registry.model(profile.name).request(request)
        run.record_model_call(
            agent=DISPATCHER_AGENT, profile=profile, response=response, parent_id=span
        )
        return response

    async def _delegate(
        self, choices: Sequence[Choice], run: RunContext, span: str | None, tier: str | None
    ) -> list[str]:
        """Run the chosen specialists; several in one turn run concurrently."""
        results: list[str] = [""] * len(choices)
        model = None
        if tier in ("strong", "weak"):
            model = self.registry.tier_profile(tier).name

        async def one(index: int, choice: Choice) -> None:
            agent = self.registry.agent(choice.tool)
            result = await run_agent(agent, choice.task_text, run, parent_id=span, model=model)
            results[index] = result.output

        if len(choices) == 1:
            await one(0, choices[0])
            return results
        async with anyio.create_task_group() as group:
            for index, choice in enumerate(choices):
                group.start_soon(one, index, choice)
        return results

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
                await self._delegate([Choice(self.default_route, {"task": task})], run, span, None)
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
        return (await self._delegate([choices[0][1]], run, span, None))[0]

    def _finish(self, run: RunContext, span: str, answer: str, turns: int) -> None:
        run.tracer.emit(
            AgentFinished,
            parent_id=span,
            agent=DISPATCHER_AGENT,
            status="ok",
            output=answer[:2000],
            turns=turns,
        )


def _result(run: RunContext, outcome: RunOutcome) -> RunResult:
    ledger = run.ledger
    return RunResult(
        run_id=run.tracer.run_id,
        # The answer is model text: a key it repeats is redacted, as in the trace.
        answer=redact(outcome.answer) if outcome.answer is not None else None,
        status="ok",
        cost_usd=ledger.total_cost,
        counterfactual_cost_usd=ledger.counterfactual,
        trace_path=run.trace_path,
        routes=list(outcome.routes),
        escalations=run.escalations,
        events=run.tracer.events,
    )


def _use_shared_state(registry: Registry, options: dict[str, Any]) -> None:
    """`dispatcher: state:` and `spend_cap:`: the router learns through the store (when it
    can), and runs draw on the shared daily allowance."""
    settings = registry.config.settings
    if settings.state is None and settings.spend_cap is None:
        return
    from dispatcher.state import DailySpendCap, open_state_store

    store = open_state_store(settings.state)
    use_store = getattr(options.get("router"), "use_store", None)
    if callable(use_store):
        use_store(store)
    if settings.spend_cap is not None and options.get("spend_cap") is None:
        cap = settings.spend_cap
        options["spend_cap"] = DailySpendCap(store, cap.usd_per_day, key=cap.key)
