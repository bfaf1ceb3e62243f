"""Feedback that reaches the router: a run's outcome updates the decision that routed it.

`give_feedback` reads the run's trace, finds the `route` events of the given router, updates
that router once per decision (the bandit's `update`) and appends a `feedback` event to the
trace. A run takes feedback once: a second call is refused, so no outcome is counted twice.
"""

from __future__ import annotations

import fcntl
import math
import os
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from dispatcher._user_files import as_path
from dispatcher.errors import ConfigError
from dispatcher.trace.events import EventBase, FeedbackEvent, RouteEvent, RunStarted
from dispatcher.trace.reader import read_trace
from dispatcher.trace.sink import JsonlTraceSink

__all__ = ["LearningRouter", "apply_feedback", "give_feedback"]


@runtime_checkable
class LearningRouter(Protocol):
    """A router that learns from outcomes (the LinUCB bandit)."""

    name: str

    def update(self, prompt: str, arm: str, quality: float, cost: float = 0.0) -> float: ...


def _check_reward(reward: Any) -> float:
    if isinstance(reward, bool) or not isinstance(reward, (int, float)):
        raise ConfigError(
            f"the reward must be a number, got {reward!r}", fix="e.g. --reward 1 or --reward 0"
        )
    if not math.isfinite(reward):
        raise ConfigError(f"the reward must be finite, got {reward!r}", fix="e.g. --reward 1")
    return float(reward)


def apply_feedback(
    events: Sequence[EventBase],
    router: Any,
    reward: float,
    *,
    source: Literal["api", "cli", "gate"],
) -> FeedbackEvent:
    """Update `router` for each of its decisions in `events`; the `feedback` event to record."""
    reward = _check_reward(reward)
    if not isinstance(router, LearningRouter):
        raise ConfigError(
            f"the router {getattr(router, 'name', router)!r} does not learn from feedback",
            field="dispatcher.router",
            fix="use a router of type bandit to learn from rewards",
        )
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    if started is None:
        raise ConfigError("the trace has no run_started event", fix="check the run id")
    runs = list(dict.fromkeys(e.run_id for e in events if isinstance(e, RunStarted)))
    if len(runs) > 1:
        # A gateway's shared file: one reward must not update the router for every run in it.
        raise ConfigError(
            f"the trace holds {len(runs)} runs ({', '.join(runs[:3])}), as a gateway's "
            "shared trace file does; feedback is for one run",
            fix="give feedback for one run of it (its run id)",
        )
    if any(isinstance(e, FeedbackEvent) for e in events):
        raise ConfigError(
            f"run {started.run_id} already has feedback; a run's outcome is counted once",
            fix="give feedback for another run",
        )
    decisions = [
        e
        for e in events
        if isinstance(e, RouteEvent) and e.router == router.name and e.chosen and e.valid
    ]
    if not decisions:
        raise ConfigError(
            f"run {started.run_id} has no route decision by the router {router.name!r}",
            fix="feedback reaches only runs that this router routed (see `dispatcher trace "
            f"show {started.run_id}`)",
        )
    for decision in decisions:
        assert decision.chosen is not None
        router.update(started.task, decision.chosen, reward)
    return FeedbackEvent(
        run_id=started.run_id,
        ts=datetime.now(UTC).isoformat(),
        span_id=f"f{secrets.token_hex(4)}",
        router=router.name,
        reward=reward,
        routes=[d.chosen for d in decisions if d.chosen],
        route_span_ids=[d.span_id for d in decisions],
        source=source,
    )


def give_feedback(
    trace_path: Path,
    router: Any,
    reward: float,
    *,
    source: Literal["api", "cli", "gate"] = "api",
) -> FeedbackEvent:
    """Feedback for the run whose trace is `trace_path`; appends the `feedback` event to it."""
    trace_path = as_path(trace_path, "trace path")
    # The trace is locked while checked and appended, so two callers cannot both count.
    try:
        fd = os.open(trace_path, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigError(
            "no trace at this path",
            file=trace_path,
            fix="pass a run's trace (RunResult.trace_path)",
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        event = apply_feedback(read_trace(trace_path), router, reward, source=source)
        _cut_torn_tail(trace_path)
        sink = JsonlTraceSink(trace_path)
        try:
            sink.write(event)
        finally:
            sink.close()
    finally:
        os.close(fd)
    return event


def _cut_torn_tail(trace_path: Path) -> None:
    """Drop a killed run's unfinished last line (reading skips it): a line appended after it
    would join it into one invalid line and make the whole trace unreadable."""
    data = trace_path.read_bytes()
    if data and not data.endswith(b"\n"):
        os.truncate(trace_path, data.rfind(b"\n") + 1)
