"""Compare a run's spans with its JSONL trace, span by span and parent by parent."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan

from dispatcher.trace.events import (
    AgentStarted,
    DetectorVerdictEvent,
    EscalationEvent,
    Event,
    ModelCall,
    Note,
    RouteEvent,
    RunStarted,
    ToolCallEvent,
)

SPAN_KINDS = (RunStarted, AgentStarted, ModelCall, ToolCallEvent, EscalationEvent)
EVENT_KINDS = {RouteEvent: "dispatcher.route", DetectorVerdictEvent: "dispatcher.detector",
               Note: "dispatcher.note"}  # fmt: skip


def expected_name(event: Event) -> str:
    if isinstance(event, RunStarted):
        return f"invoke_workflow {event.entry}"
    if isinstance(event, AgentStarted):
        return f"invoke_agent {event.agent}"
    if isinstance(event, ModelCall):
        return f"chat {event.model}"
    if isinstance(event, ToolCallEvent):
        return f"execute_tool {event.tool}"
    assert isinstance(event, EscalationEvent)
    return f"escalation {event.trigger}"


def assert_same_tree(spans: Sequence[ReadableSpan], events: Sequence[Event]) -> None:
    """One span per span-making event, named per the conventions, with the trace's parent
    (the run's span for events without one); decisions as events on their parent span."""
    ours = {str(s.attributes["dispatcher.span_id"]): s for s in spans if s.attributes}
    by_otel_id = {s.context.span_id: s for s in spans if s.context is not None}
    assert len(ours) == len(spans), "every span carries the trace's span id"
    run = next(e for e in events if isinstance(e, RunStarted))
    makers = [e for e in events if isinstance(e, SPAN_KINDS)]
    assert sorted(ours) == sorted(e.span_id for e in makers)
    assert len({s.context.trace_id for s in spans if s.context is not None}) == 1
    for event in makers:
        span = ours[event.span_id]
        assert span.name == expected_name(event)
        if event is run:
            assert span.parent is None
            continue
        assert span.parent is not None
        parent = by_otel_id[span.parent.span_id]
        assert parent.attributes is not None
        assert parent.attributes["dispatcher.span_id"] == (event.parent_id or run.span_id)
    for event in events:
        name = EVENT_KINDS.get(type(event))
        if name is None:
            continue
        holder = ours[event.parent_id or run.span_id]
        marks = [
            e
            for e in holder.events
            if e.attributes and e.attributes["dispatcher.span_id"] == event.span_id
        ]
        assert [m.name for m in marks] == [name], (event.kind, event.span_id)
