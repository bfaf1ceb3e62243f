"""The dispatcher agent: reads a task, delegates to specialists, returns the final answer."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from dispatcher._choice_loop import DISPATCHER_AGENT, ChoiceLoop
from dispatcher._dispatcher_options import check_sinks, checked_options
from dispatcher._unicode import is_encodable
from dispatcher.agent import Agent
from dispatcher.budgets import Budgets
from dispatcher.choice import (
    Choice,
    ChoiceSchema,
)
from dispatcher.errors import ConfigError, RunError
from dispatcher.redaction import redact
from dispatcher.registry.registry import Registry
from dispatcher.run_context import RunContext
from dispatcher.runner import RunOutcome, RunResult, run_session
from dispatcher.trace.events import RouteEvent
from dispatcher.trace.sink import TraceSink
from dispatcher.worker import run_agent

if TYPE_CHECKING:
    from dispatcher._streaming import RunStream
    from dispatcher.approvals import Approver
    from dispatcher.mcp._hub import MCPHub
    from dispatcher.routing.base import Router
    from dispatcher.state import DailySpendCap

__all__ = ["Dispatcher"]


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
        try:
            anyio.get_current_task()
        except RuntimeError:
            pass  # no event loop here: the normal case
        else:
            raise ConfigError(
                "run_sync was called inside a running event loop (async code, a notebook), "
                "where it cannot start one of its own",
                fix="write `result = await dispatcher.run(task)` there instead",
            )
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

        _check_run_arguments(task, approve)  # here, not at the first item read
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
        _check_run_arguments(task, approve)
        check_sinks(sinks)
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
            raise ConfigError(
                "no specialists are registered",
                fix="list agent files under `dispatcher: agents: [...]` in the registry file "
                "(docs/configuration.md), or pass agents=[Agent(...)] to Dispatcher.from_config",
            )
        schema = ChoiceSchema(specialists)
        tier = None
        if self.router is not None:
            decision = await self._ask_router(task, schema, run)
            if decision in schema.specialists:
                outcome.routes.append(decision)
                choice = Choice(decision, {"task": task})
                return (await self._delegate([choice], run, None, None))[0]
            tier = decision
        loop = ChoiceLoop(
            self.registry,
            self.model_name,
            self.max_turns,
            self.max_reasks,
            self.default_route,
            self._delegate,
        )
        return await loop.run(task, schema, run, outcome, tier)

    async def _ask_router(self, task: str, schema: ChoiceSchema, run: RunContext) -> str | None:
        from dispatcher.routing.base import RouteContext

        assert self.router is not None
        candidates = (*schema.names, "strong", "weak")
        decision = self.router(RouteContext(prompt=task, candidates=candidates))
        _check_decision(decision, getattr(self.router, "name", None) or repr(self.router))
        run.tracer.emit(
            RouteEvent,
            router=decision.router,
            candidates=list(candidates),
            chosen=decision.chosen,
            # A user's router may score NaN/inf: traced as unknown (events refuse them).
            score=_finite_or_none(decision.score),
            threshold=_finite_or_none(decision.threshold),
            reason=decision.reason
            or ("unsure: asking the dispatcher model" if decision.chosen is None else ""),
        )
        return decision.chosen

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


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _check_decision(decision: Any, router: str) -> None:
    """A router's answer, checked before it reaches the trace: one of the wrong shape (a
    user's own router) is a ConfigError, not an AttributeError or an unreadable trace line."""
    from dispatcher.routing.base import RouteDecision

    number = (int, float)
    valid = (
        isinstance(decision, RouteDecision)
        and isinstance(decision.router, str)
        and (decision.chosen is None or isinstance(decision.chosen, str))
        and all(
            v is None or (isinstance(v, number) and not isinstance(v, bool))
            for v in (decision.score, decision.threshold)
        )
        and isinstance(decision.reason, str)
    )
    if not valid:
        raise ConfigError(
            f"router {router!r} answered {decision!r}, not a RouteDecision",
            field="router",
            fix="return RouteDecision(router: str, chosen: str | None, score: float | None, "
            "threshold: float | None, reason: str) from the router",
        )


def _check_run_arguments(task: object, approve: object) -> None:
    """What `run` and `stream` refuse before any work starts."""
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
    if approve is not None and not callable(approve):
        # Called only at the first call needing approval, where its failure is a denial:
        # every such call would be denied without a word about why.
        raise ConfigError(
            f"approve must be an async function deciding approvals, got {type(approve).__name__}",
            field="approve",
            fix="pass approve=my_approver (async (ApprovalRequest) -> Approval), or "
            "dispatcher.approvals.approve_all, or leave it out to deny such calls",
        )
