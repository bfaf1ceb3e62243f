"""A run's lifecycle: ids, trace file, `run_started` … `run_finished`, and the result."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from dispatcher._settings_memo import shared_settings
from dispatcher.budgets import DEFAULT_MAX_TURNS, Budgets, BudgetTracker
from dispatcher.errors import BudgetExceeded, ConfigError, RunError, describe
from dispatcher.escalation.settings import EscalationSettings
from dispatcher.mcp._agent_tools import mcp_scope
from dispatcher.mcp._hub import MCPHub
from dispatcher.models import retry_deadline
from dispatcher.redaction import clip, redact_exception
from dispatcher.registry.registry import Registry
from dispatcher.run_context import CostLedger, RunContext
from dispatcher.tools.executor import ToolExecutor, ToolLimits
from dispatcher.trace import sink as _sink
from dispatcher.trace.events import TASK_CHARS, EventBase, FeedbackEvent, RunFinished, RunStarted
from dispatcher.trace.sink import JsonlTraceSink, TraceSink, default_runs_dir
from dispatcher.trace.tracer import Tracer

__all__ = ["RunResult", "new_run_id", "run_session"]


_second: tuple[int, str] = (-1, "")


def new_run_id() -> str:
    """Sortable by start time, unique across processes."""
    global _second
    seconds = int(time.time())
    if _second[0] != seconds:  # formatted once a second: a busy gateway opens many runs in one
        _second = (seconds, f"{datetime.fromtimestamp(seconds, UTC):%Y%m%dT%H%M%S}")
    return f"{_second[1]}-{os.urandom(4).hex()}"


@dataclass
class RunResult:
    """The outcome of a run."""

    run_id: str
    answer: str | None
    status: str
    cost_usd: float | None
    counterfactual_cost_usd: float | None
    trace_path: Path | None
    routes: list[str] = field(default_factory=list)
    escalations: int = 0
    events: list[EventBase] = field(default_factory=list)
    # The router that routed this run (set by Dispatcher.run): `feedback` updates it.
    router: Any = field(default=None, repr=False, compare=False)

    def feedback(self, reward: float) -> FeedbackEvent:
        """Report how well this run went: updates the router's route decision(s) in it and
        appends a `feedback` event to the trace (once per run)."""
        from dispatcher.feedback import apply_feedback, give_feedback

        if self.router is None:
            raise ConfigError(
                "this run was not routed by a router, so there is nothing to update",
                fix="configure dispatcher.router (type bandit) or pass router= to Dispatcher",
            )
        if self.trace_path is not None:
            event = give_feedback(self.trace_path, self.router, reward)
        else:
            event = apply_feedback(self.events, self.router, reward, source="api")
        self.events.append(event)
        return event


@dataclass
class RunOutcome:
    """Filled in by the code inside `run_session`."""

    answer: str | None = None
    routes: list[str] = field(default_factory=list)


def _attach_trace(exc: Exception, trace_path: Path | None, events: list[EventBase]) -> None:
    """Every error out of a run carries its trace path and the events so far (`RunError`
    declares both; any other exception gets them as attributes and a note in its traceback)."""
    try:
        exc.trace_path = trace_path  # type: ignore[attr-defined]
        exc.events = events  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__: the note still tells
        pass
    if not isinstance(exc, RunError) and trace_path is not None:
        exc.add_note(f"trace of the run: {trace_path}")
    # What a traceback prints (message, notes, the chained errors) must not hold a key.
    redact_exception(exc)


class _NoDeadline:
    """What `_wall_clock` gives a run without wall_s: nothing to cancel, nothing caught.

    A deadline-less anyio CancelScope would do the same at a cost (task and backend lookups)
    that every gateway request paid.
    """

    cancelled_caught = False

    def __enter__(self) -> _NoDeadline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


_NO_DEADLINE = _NoDeadline()


def _wall_clock(budget: BudgetTracker) -> anyio.CancelScope | _NoDeadline:
    """A cancel scope that ends the run's body at its wall_s deadline (no-op without one)."""
    left = budget.seconds_left()
    if left is None:
        return _NO_DEADLINE
    return anyio.CancelScope(deadline=anyio.current_time() + left)


def _open_trace(
    directory: Path, run_id: str | None, write_trace: bool
) -> tuple[str, JsonlTraceSink | None]:
    """The run id and its own new trace file (created exclusively: never shared, never
    appended to). An explicit id that already has a trace is refused."""
    if not write_trace:
        return run_id or new_run_id(), None
    if run_id is not None:
        _check_run_id(run_id)
        path = directory / f"{run_id}.jsonl"
        try:
            return run_id, _new_trace_file(path)
        except FileExistsError:
            raise ConfigError(
                f"run id {run_id!r} already has a trace ({path}); two runs never share one",
                field="run_id",
                fix="omit run_id to get a fresh one, or choose an id that is not in "
                "`dispatcher trace ls`",
            ) from None
    while True:  # a generated id colliding needs the same second and 32 random bits
        run_id = new_run_id()
        try:
            return run_id, _new_trace_file(directory / f"{run_id}.jsonl")
        except FileExistsError:
            continue


def _new_trace_file(path: Path) -> JsonlTraceSink:
    """The trace file, created exclusively; a runs folder that cannot hold it (a file, a
    read-only place, a NUL in the name) is a ConfigError, not an OSError from deep inside."""
    try:
        return JsonlTraceSink(path, exclusive=True)
    except FileExistsError:
        raise
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"cannot create the run's trace in the runs folder {str(path.parent)!r}: {reason}",
            field="runs_dir",
            fix="set the runs folder (dispatcher: runs_dir:, --runs-dir or "
            "$DISPATCHER_RUNS_DIR) to a folder this user can write",
        ) from None


_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def _check_run_id(run_id: str) -> None:
    """A run id names a file in the runs folder: no separators, no hidden or parent names, no
    control characters, short enough for a file name."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise ConfigError(
            f"invalid run id {run_id!r}",
            field="run_id",
            fix="use 1 to 128 ASCII letters, digits, '-', '_' and '.', not starting with '.'",
        )


# The registry's budgets as limits, kept with a snapshot of the settings they came from: a
# gateway opens a run per request, and rebuilding them cost about a third of opening one.
_limits_memo: dict[int, tuple[Any, Budgets]] = {}


def _run_limits(configured: Any, override: Budgets | None) -> Budgets:
    """The run's limits: the registry's `budgets`, `override` where set, and a turn cap."""
    memo = _limits_memo.get(id(configured))
    if memo is not None and memo[0] == configured:  # unchanged since (a snapshot, not `is`)
        base = memo[1]
    else:
        base = _with_turn_cap(
            Budgets.from_mapping(configured.model_dump(), where="dispatcher.budgets")
        )
        if len(_limits_memo) >= 64:
            _limits_memo.clear()
        _limits_memo[id(configured)] = (configured.model_copy(deep=True), base)
    return base if override is None else _with_turn_cap(base.merged(override))


def _with_turn_cap(limits: Budgets) -> Budgets:
    if limits.turns is None:
        return dataclasses.replace(limits, turns=DEFAULT_MAX_TURNS)
    return limits


@asynccontextmanager
async def run_session(
    registry: Registry,
    task: str,
    *,
    entry: str,
    runs_dir: Path | None = None,
    write_trace: bool = True,
    sinks: Sequence[TraceSink] = (),
    budgets: Budgets | None = None,
    tool_limits: ToolLimits | None = None,
    run_id: str | None = None,
    mcp: MCPHub | None = None,
) -> AsyncIterator[tuple[RunContext, RunOutcome]]:
    """Open a run: trace sinks, budget and ledger; always closes with `run_finished`."""
    settings = registry.config.settings
    directory = runs_dir or (
        registry.config.resolve_path(settings.runs_dir) if settings.runs_dir else default_runs_dir()
    )
    run_id, trace_sink = _open_trace(directory, run_id, write_trace)
    trace_path = trace_sink.path if trace_sink is not None else None
    all_sinks: list[TraceSink] = [*sinks, *_sink.EXTRA_SINKS]
    if trace_sink is not None:
        all_sinks.insert(0, trace_sink)
    if settings.telemetry.otel or "DISPATCHER_OTEL" in os.environ:  # otel stays unimported
        from dispatcher.telemetry import telemetry_sinks

        all_sinks += telemetry_sinks(settings.telemetry)
    tracer = Tracer(run_id, all_sinks, trace_path=trace_path)
    limits = _run_limits(settings.budgets, budgets)
    try:
        strong = registry.strong_profile()
    except Exception:
        strong = None  # no strong model configured: the counterfactual is unknown
    run = RunContext(
        registry=registry,
        tracer=tracer,
        executor=ToolExecutor(
            tracer,
            limits=tool_limits,
            artifacts_dir=(directory / f"{run_id}.artifacts") if write_trace else None,
        ),
        budget=BudgetTracker(limits),
        ledger=CostLedger(strong=strong),
        detector_defaults=settings.detectors,
        escalation_defaults=shared_settings(
            "escalation",
            (settings.escalation,),
            lambda: EscalationSettings.model_validate(settings.escalation),
        ),
        trace_path=trace_path,
    )
    started = time.perf_counter()
    tracer.emit(
        RunStarted, task=clip(task, TASK_CHARS), config_digest=registry.config.digest, entry=entry
    )
    outcome = RunOutcome()
    status = "ok"
    error: dict[str, Any] | None = None
    failure: Exception | None = None
    try:
        # No model retry may wait past the run's wall-time budget.
        with retry_deadline(run.budget.deadline), _wall_clock(run.budget) as wall:
            # MCP servers this run started stop here, on success, error and cancellation.
            async with mcp_scope(registry, run, mcp):
                yield run, outcome
        if wall.cancelled_caught:
            # The deadline cut a silent model request or a stuck tool: the wall_s budget.
            raise run.budget.wall_time_exceeded()
    except RunError as exc:
        status = "budget_exceeded" if isinstance(exc, BudgetExceeded) else "error"
        error = describe(exc)
        failure = exc  # gets the partial trace below, run_finished included
        exc.trace_path = trace_path
        raise
    except Exception as exc:
        status, error = "error", describe(exc)
        failure = exc  # a provider or config error mid-run: it gets the trace as well
        raise
    except BaseException as exc:
        status, error = "cancelled", describe(exc)
        raise
    finally:
        ledger = run.ledger
        tracer.emit(
            RunFinished,
            status=status,
            answer=outcome.answer,
            error=error,
            cost_usd=ledger.total_cost,
            counterfactual_cost_usd=ledger.counterfactual,
            unpriced_models=sorted(ledger.unpriced_models),
            input_tokens=ledger.usage.input_tokens,
            output_tokens=ledger.usage.output_tokens,
            cached_input_tokens=ledger.usage.cached_input_tokens,
            model_calls=ledger.model_calls,
            tool_calls=run.executor.calls,
            escalations=run.escalations,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        tracer.close()
        if failure is not None:
            _attach_trace(failure, trace_path, list(tracer.events))
