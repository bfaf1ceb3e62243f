"""A past JSONL trace as OTLP JSON (the `resourceSpans` document an OTLP/HTTP collector takes).

The events are replayed through the same `OtelTraceSink` a live run uses, into a private
TracerProvider, so an export and a live run give the same spans. Ids are derived from the run
id: exporting a run twice gives the same trace and span ids (a backend de-duplicates them).

The encoder is ours because OTLP JSON differs from protobuf's generic JSON mapping (ids are
hex, not base64; enums are integers), and the only encoder the SDK ships is for protobuf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

from dispatcher.telemetry._span_sink import OtelTraceSink
from dispatcher.trace.events import EventBase

__all__ = ["encode_otlp_json", "export_otlp_json", "replay_spans"]


class _RunIds(IdGenerator):
    """Trace and span ids from a hash of the run id and a counter: stable across exports."""

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        self._count = 0

    def _digest(self, salt: str) -> bytes:
        return hashlib.sha256(f"{self._run_id}\x00{salt}".encode()).digest()

    def generate_trace_id(self) -> int:
        return int.from_bytes(self._digest("trace")[:16], "big") or 1

    def generate_span_id(self) -> int:
        self._count += 1
        return int.from_bytes(self._digest(str(self._count))[:8], "big") or 1


def replay_spans(
    events: Sequence[EventBase], *, capture_content: bool = False
) -> tuple[ReadableSpan, ...]:
    """The finished spans a live run with these events would have produced."""
    run_id = events[0].run_id if events else "empty"
    provider = TracerProvider(
        resource=Resource({"service.name": "dispatcher"}), id_generator=_RunIds(run_id)
    )
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sink = OtelTraceSink(provider, capture_content=capture_content)
    for event in events:
        sink.write(event)
    sink.finish()
    spans = exporter.get_finished_spans()
    provider.shutdown()
    return spans


def export_otlp_json(
    events: Sequence[EventBase], *, capture_content: bool = False
) -> dict[str, Any]:
    """A run's events as one OTLP JSON `{"resourceSpans": [...]}` document."""
    return encode_otlp_json(replay_spans(events, capture_content=capture_content))


def encode_otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Finished SDK spans as OTLP JSON, grouped by resource and instrumentation scope."""
    resources: dict[int, tuple[Resource | None, dict[tuple[str, str], list[dict[str, Any]]]]] = {}
    # By start, a parent before the children that start with it (it ends last).
    for span in sorted(spans, key=lambda s: (s.start_time or 0, -(s.end_time or 0))):
        resource = span.resource
        _, scopes = resources.setdefault(id(resource), (resource, {}))
        scope = span.instrumentation_scope
        key = (scope.name, scope.version or "") if scope else ("", "")
        scopes.setdefault(key, []).append(_span(span))
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": _attributes(dict(resource.attributes) if resource else {})
                },
                "scopeSpans": [
                    {"scope": _scope(name, version), "spans": encoded}
                    for (name, version), encoded in scopes.items()
                ],
            }
            for resource, scopes in resources.values()
        ]
    }


def _scope(name: str, version: str) -> dict[str, str]:
    return {"name": name, "version": version} if version else {"name": name}


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.context
    assert context is not None  # finished SDK spans always have one
    encoded: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
        "name": span.name,
        # OTLP numbers kinds from 1 (INTERNAL); the Python enum numbers them from 0.
        "kind": span.kind.value + 1,
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or 0),
        "attributes": _attributes(dict(span.attributes or {})),
    }
    if span.parent is not None:
        encoded["parentSpanId"] = f"{span.parent.span_id:016x}"
    if span.events:
        encoded["events"] = [
            {
                "timeUnixNano": str(event.timestamp),
                "name": event.name,
                "attributes": _attributes(dict(event.attributes or {})),
            }
            for event in span.events
        ]
    status: dict[str, Any] = {"code": span.status.status_code.value}
    if span.status.description:
        status["message"] = span.status.description
    encoded["status"] = status
    return encoded


def _attributes(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in attributes.items()]


def _any_value(value: Any) -> dict[str, Any]:
    """One attribute value as an OTLP AnyValue (int64 as a decimal string, as OTLP JSON says)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        import base64

        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    return {"arrayValue": {"values": [_any_value(item) for item in value]}}
