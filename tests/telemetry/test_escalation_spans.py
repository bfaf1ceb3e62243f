"""Every escalation mode keeps its overwatch work inside the episode's span."""

from __future__ import annotations

import pytest
from scenario import registry
from span_tree import assert_same_tree

from dispatcher import Agent, Dispatcher, ToolOutput, tool
from dispatcher.telemetry._otlp_json import replay_spans
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.events import EscalationEvent, Event, event_adapter


@tool
def lookup(key: str) -> ToolOutput:
    """Look up a value by key."""
    if key == "right":
        return ToolOutput("value=42")
    return ToolOutput(f"Error: no such key {key!r}", is_error=True)


WORKER = Agent(name="worker", description="Looks things up.", tools=[lookup], tier="weak")


def _run(mode: str) -> list[Event]:
    overwatch: list[object] = [
        tool_calls(("overwatch_decision", {"mode": mode, "guidance": "use key right"})),
    ]
    worker_after: list[object] = []
    if mode == "take_over":
        overwatch += [tool_calls(("lookup", {"key": "right"})), reply("42")]
    elif mode == "hand_back":
        overwatch += [tool_calls(("lookup", {"key": "right"}))]
        worker_after = [reply("42", agent="worker")]
    else:
        worker_after = [tool_calls(("lookup", {"key": "right"}), agent="worker"),
                        reply("42", agent="worker")]  # fmt: skip
    reg, small, strong = registry(
        [WORKER],
        small=[
            tool_calls(("worker", {"task": "find the value"}), agent="dispatcher"),
            tool_calls(("escalate", {"reason": "stuck", "question": "help"}), agent="worker"),
            *worker_after,
            reply("The value is 42.", agent="dispatcher"),
        ],
        strong=overwatch,
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    strong.assert_complete()
    adapter = event_adapter()
    return [adapter.validate_python(e.model_dump()) for e in result.events]


@pytest.mark.parametrize("mode", ["advise", "take_over", "hand_back"])
def test_episode_span_holds_the_overwatch_work(mode: str) -> None:
    events = _run(mode)
    (episode,) = [e for e in events if isinstance(e, EscalationEvent)]
    inside = [e for e in events if e.parent_id == episode.span_id]
    assert inside, "the overwatch's calls name the episode as parent"
    spans = replay_spans(events)
    assert_same_tree(spans, events)
    (span,) = [s for s in spans if s.name == "escalation self"]
    assert span.attributes is not None
    assert span.attributes["dispatcher.escalation.mode"] == mode
    assert "dispatcher.escalation.reason" not in span.attributes  # the worker's words: content
    children = [
        s for s in spans if s.parent is not None and s.parent.span_id == span.context.span_id
    ]
    assert len(children) == len(inside)
    assert span.start_time is not None and span.end_time is not None
    assert all(span.start_time <= (c.start_time or 0) <= span.end_time for c in children)
