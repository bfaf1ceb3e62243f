"""A trace sink that turns one run's events into OpenTelemetry GenAI spans as they arrive.

The span tree is the trace's own: the run is an `invoke_workflow` span; each `agent_started`
… `agent_finished` an `invoke_agent {agent}` span; each model call a `chat {model}` span and
each tool call an `execute_tool {tool}` span under the span its event names as parent; each
escalation episode a span (with the overwatch's calls inside it) and a span event on the agent.
Routes, detector verdicts, notes, retries and fallbacks are span events on their parent.
Times come from the events, so a past trace replayed through this sink gives the same spans.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from dispatcher.telemetry import _attributes as a
from dispatcher.telemetry import _conventions as c
from dispatcher.trace.events import (
    AgentFinished,
    AgentStarted,
    DetectorVerdictEvent,
    EscalationEvent,
    EventBase,
    ModelCall,
    ModelFallback,
    ModelRetry,
    Note,
    RouteEvent,
    RunFinished,
    RunStarted,
    ToolCallEvent,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["OtelTraceSink", "event_time_ns"]


@cache
def _version() -> str:
    """The installed dispatcher's version, for the instrumentation scope."""
    try:
        return version("dispatcher")
    except PackageNotFoundError:
        return ""


def event_time_ns(ts: str) -> int:
    """An event's ISO 8601 timestamp as nanoseconds since the epoch, without float rounding."""
    moment = datetime.fromisoformat(ts)
    whole = int(moment.replace(microsecond=0).timestamp())
    return whole * 1_000_000_000 + moment.microsecond * 1000


def _start_ns(event: EventBase) -> int:
    """When the work an event reports began: events are written when it ends."""
    end = event_time_ns(event.ts)
    if isinstance(event, ModelCall):
        return end - int(event.latency_ms * 1_000_000)
    if isinstance(event, ToolCallEvent):
        return end - int(event.duration_ms * 1_000_000)
    return end


class OtelTraceSink:
    """Writes runs' events as spans through a TracerProvider (the global one by default).

    One sink can serve any number of runs, also at once: its state is kept per run id, and a
    run's spans are complete when its `run_finished` arrives (the runner always writes one).
    """

    def __init__(
        self, tracer_provider: TracerProvider | None = None, *, capture_content: bool = False
    ) -> None:
        self._tracer: Tracer = trace.get_tracer(
            c.DISPATCHER, _version(), tracer_provider=tracer_provider
        )
        self._content = capture_content
        self._runs: dict[str, _RunSpans] = {}

    def write(self, event: EventBase) -> None:
        run = self._runs.get(event.run_id)
        if run is None:
            run = self._runs[event.run_id] = _RunSpans(self._tracer, self._content)
        run.write(event)
        if isinstance(event, RunFinished):
            del self._runs[event.run_id]
            run.finish()

    def close(self) -> None:
        """Nothing to end here: another run may still be writing to this sink (see `finish`)."""

    def finish(self) -> None:
        """End what runs without a `run_finished` left open (a killed run's trace, replayed)."""
        for run in self._runs.values():
            run.finish()
        self._runs.clear()


class _RunSpans:
    """One run's spans. Events whose parent span is not known yet (the overwatch's calls,
    written before their escalation event) wait for it, then join it with their own times."""

    def __init__(self, tracer: Tracer, content: bool) -> None:
        self._tracer = tracer
        self._content = content
        # our span id -> its OTel span, ended or not: the run, agents and escalation episodes
        self._spans: dict[str, Span] = {}
        self._waiting: dict[str, list[EventBase]] = {}  # parent span id -> events held back
        self._root: Span | None = None
        self._last_ns = 0

    def write(self, event: EventBase) -> None:
        self._last_ns = max(self._last_ns, event_time_ns(event.ts))
        parent = event.parent_id
        if parent is not None and parent not in self._spans:
            self._waiting.setdefault(parent, []).append(event)
            return
        self._handle(event)

    def finish(self) -> None:
        """Held-back events join the run span; spans still open end at the last event."""
        for events in list(self._waiting.values()):
            for event in events:
                self._handle(event, orphan=True)
        self._waiting.clear()
        for span in self._spans.values():
            if span.is_recording():
                span.set_attribute(f"{c.DISPATCHER}.incomplete", True)
                span.end(end_time=self._last_ns)

    def _handle(self, event: EventBase, *, orphan: bool = False) -> None:
        content = self._content
        if isinstance(event, RunStarted):
            name = f"{c.OP_INVOKE_WORKFLOW} {event.entry or c.DISPATCHER}"
            self._root = self._open(event, name, a.run_started_attributes(event, content), None)
        elif isinstance(event, RunFinished):
            if self._root is not None and self._root.is_recording():
                status = _status(event.status == "ok", event.status)
                self._finish(self._root, event, a.run_finished_attributes(event, content), status)
        elif isinstance(event, AgentStarted):
            name = f"{c.OP_INVOKE_AGENT} {event.agent}"
            attributes = a.agent_started_attributes(event, content)
            self._open(event, name, attributes, self._parent(event, orphan))
        elif isinstance(event, AgentFinished):
            span = self._spans.get(event.parent_id or "")
            if span is not None and span.is_recording():
                status = _status(event.status == "ok", event.status)
                self._finish(span, event, a.agent_finished_attributes(event, content), status)
        elif isinstance(event, ModelCall):
            attributes = a.model_call_attributes(event, content)
            name = f"{c.OP_CHAT} {event.model}"
            self._closed_span(event, name, attributes, SpanKind.CLIENT, _status(True, ""), orphan)
        elif isinstance(event, ToolCallEvent):
            attributes = a.tool_call_attributes(event, content)
            name = f"{c.OP_EXECUTE_TOOL} {event.tool}"
            status = _status(event.ok, event.error_kind or "tool_error")
            self._closed_span(event, name, attributes, SpanKind.INTERNAL, status, orphan)
        elif isinstance(event, EscalationEvent):
            self._escalation(event, orphan)
        else:
            self._span_event(event, orphan)

    def _parent(self, event: EventBase, orphan: bool = False) -> Span | None:
        if orphan or event.parent_id is None:
            return self._root
        return self._spans.get(event.parent_id, self._root)

    def _open(
        self, event: EventBase, name: str, attributes: a.Attributes, parent: Span | None
    ) -> Span:
        """Start a span that later events end or fill, then release its held-back children."""
        span = self._start(name, attributes, parent, _start_ns(event), SpanKind.INTERNAL)
        self._spans[event.span_id] = span
        for child in self._waiting.pop(event.span_id, []):
            self._handle(child)
        return span

    def _closed_span(
        self,
        event: EventBase,
        name: str,
        attributes: a.Attributes,
        kind: SpanKind,
        status: Status,
        orphan: bool,
    ) -> None:
        # Not kept: nothing names a call as its parent, and a long run has thousands of calls.
        span = self._start(name, attributes, self._parent(event, orphan), _start_ns(event), kind)
        span.set_status(status)
        span.end(end_time=event_time_ns(event.ts))

    def _start(
        self,
        name: str,
        attributes: Mapping[str, a.AttributeValue],
        parent: Span | None,
        start_ns: int,
        kind: SpanKind,
    ) -> Span:
        context = trace.set_span_in_context(parent) if parent is not None else None
        return self._tracer.start_span(
            name, context=context, kind=kind, attributes=attributes, start_time=start_ns
        )

    def _escalation(self, event: EscalationEvent, orphan: bool) -> None:
        """The episode's span starts with its first held-back call; its parent gets an event."""
        attributes = a.escalation_attributes(event, self._content)
        parent = self._parent(event, orphan)
        if parent is not None and parent.is_recording():
            parent.add_event(f"{c.DISPATCHER}.escalation", attributes, event_time_ns(event.ts))
        children = self._waiting.get(event.span_id, [])
        start = min([_start_ns(child) for child in children] + [event_time_ns(event.ts)])
        span = self._start(
            f"escalation {event.trigger}", attributes, parent, start, SpanKind.INTERNAL
        )
        self._spans[event.span_id] = span
        for child in self._waiting.pop(event.span_id, []):
            self._handle(child)
        span.set_status(_status(event.outcome != "failed", "escalation_failed"))
        span.end(end_time=max(event_time_ns(event.ts), start))

    def _span_event(self, event: EventBase, orphan: bool) -> None:
        if not isinstance(
            event, RouteEvent | DetectorVerdictEvent | Note | ModelRetry | ModelFallback
        ):
            return  # a kind this version does not know: the JSONL trace still has it
        target = self._parent(event, orphan)
        if target is None or not target.is_recording():
            target = self._root
        if target is None or not target.is_recording():
            return
        name, attributes = a.span_event(event, self._content)
        target.add_event(name, attributes, event_time_ns(event.ts))

    def _finish(
        self, span: Span, event: EventBase, attributes: a.Attributes, status: Status
    ) -> None:
        span.set_attributes(attributes)
        span.set_status(status)
        span.end(end_time=event_time_ns(event.ts))


def _status(ok: bool, error_type: str) -> Status:
    return Status(StatusCode.UNSET) if ok else Status(StatusCode.ERROR, error_type)
