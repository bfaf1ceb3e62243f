"""Events kept as compact records come back equal, and the tracer still hands out every event."""

from __future__ import annotations

from pathlib import Path

from dispatcher.trace._records import pack, unpack
from dispatcher.trace.events import (
    DetectorVerdictEvent,
    EventBase,
    ModelCall,
    Note,
    RunFinished,
    RunStarted,
    ToolCallEvent,
)
from dispatcher.trace.sink import JsonlTraceSink, MemoryTraceSink
from dispatcher.trace.tracer import Tracer, _now

BASE = {"run_id": "r1", "ts": "2026-01-01T00:00:00.000000+00:00", "span_id": "s1"}

EVENTS: list[EventBase] = [
    RunStarted(**BASE, task="t"),
    ModelCall(
        **BASE,
        agent="a",
        model="m",
        input_tokens=1,
        output_tokens=2,
        cost_usd=None,
        latency_ms=1.5,
        tool_calls=["x"],
    ),
    ToolCallEvent(**BASE, agent="a", tool="x", call_id="c", arguments={"k": [1, 2]}, ok=True),
    DetectorVerdictEvent(
        **BASE, detector="loop", agent="a", verdict="v", step=3, evidence={"steps": [1, 2]}
    ),
    Note(**BASE, message="m", data={"a": 1}),
    RunFinished(**BASE, status="ok", cost_usd=0.5, counterfactual_cost_usd=1.0),
]


def test_a_packed_event_unpacks_equal_with_the_same_given_fields() -> None:
    for event in EVENTS:
        again = unpack(pack(event))
        assert type(again) is type(event)
        assert again == event
        assert again.model_fields_set == event.model_fields_set
        assert again.model_dump_json() == event.model_dump_json()


def test_the_tracer_returns_every_event_in_order_across_accesses() -> None:
    sink = MemoryTraceSink()
    tracer = Tracer("r1", [sink])
    tracer.emit(RunStarted, task="t")
    first = tracer.events
    tracer.emit(Note, message="later")
    assert [e.kind for e in tracer.events] == ["run_started", "note"]  # type: ignore[attr-defined]
    assert tracer.events is first
    assert tracer.events == sink.events


def test_timestamps_are_iso_utc_with_microseconds() -> None:
    from datetime import datetime

    stamp = _now()
    offset = datetime.fromisoformat(stamp).utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert len(stamp) == len("2026-01-01T00:00:00.000000+00:00")


def test_with_a_trace_file_events_are_read_back_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    memory = MemoryTraceSink()
    tracer = Tracer("r1", [JsonlTraceSink(path), memory], trace_path=path)
    tracer.emit(RunStarted, task="t")
    tracer.emit(Note, message="m", data={"a": [1, 2]})
    assert tracer._pending == []  # nothing held in memory
    assert tracer.events == memory.events  # the partial trace, before close
    tracer.close()


def test_a_removed_trace_file_gives_no_events_rather_than_an_error(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    tracer = Tracer("r1", [JsonlTraceSink(path)], trace_path=path)
    tracer.emit(RunStarted, task="t")
    tracer.close()
    path.unlink()
    assert tracer.events == []
