"""The file-only fast path writes the line the event model would have written."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from dispatcher.trace.events import ModelCall, RunFinished, ToolCallEvent, event_adapter
from dispatcher.trace.reader import read_trace
from dispatcher.trace.sink import JsonlTraceSink, MemoryTraceSink
from dispatcher.trace.tracer import Tracer

COSTS = {"cost_usd": None, "counterfactual_cost_usd": None}
CASES: list[tuple[Any, dict[str, Any]]] = [
    (
        ToolCallEvent,
        {
            "agent": "a",
            "tool": "convert",
            "call_id": "c1",
            "arguments": {"key": 1, "unit": "g", "nested": [1, {"x": None}]},
            "ok": True,
            "output": 'ünïcode "quoted" \n newline',
            "output_bytes": 30,
            "signals": MappingProxyType({"tests_failed": 2}),
            "duration_ms": 0.25,
        },
    ),
    (
        ModelCall,
        {
            "agent": "a",
            "model": "small",
            "provider_model": "p",
            "tier": "weak",
            "input_tokens": 40,
            "output_tokens": 12,
            "cost_usd": None,
            "unpriced": True,
            "latency_ms": 3.5,
            "tool_calls": ["convert"],
            "text": "",
        },
    ),
    (
        RunFinished,
        {
            "status": "ok",
            "answer": "42",
            "cost_usd": 0.5,
            "counterfactual_cost_usd": 2,
            "duration_ms": 12.5,
        },
    ),
]


@pytest.mark.parametrize(("event_type", "fields"), CASES)
def test_a_fast_line_equals_the_models_own_line(
    tmp_path: Path, event_type: Any, fields: dict[str, Any]
) -> None:
    fast_path, model_path = tmp_path / "fast.jsonl", tmp_path / "model.jsonl"
    fast = Tracer("r1", [JsonlTraceSink(fast_path)], trace_path=fast_path)
    fast.emit(event_type, parent_id="s0", span_id="s9", **fields)
    fast.close()
    # Two sinks: the tracer builds the event object and the JSONL sink dumps the model.
    memory = MemoryTraceSink()
    slow = Tracer("r1", [JsonlTraceSink(model_path), memory], trace_path=model_path)
    slow.emit(event_type, parent_id="s0", span_id="s9", **fields)
    slow.close()
    fast_line = json.loads(fast_path.read_text())
    model_line = json.loads(model_path.read_text())
    fast_line.pop("ts"), model_line.pop("ts")
    assert list(fast_line) == list(model_line)  # same keys, same order, defaults included
    assert fast_line == model_line
    (event,) = read_trace(fast_path)
    assert event == event_adapter().validate_python({**model_line, "ts": event.ts})


def test_unknown_and_missing_fields_still_fail_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCHER_VALIDATE_EVENTS", raising=False)
    path = tmp_path / "t.jsonl"
    tracer = Tracer("r1", [JsonlTraceSink(path)], trace_path=path)
    with pytest.raises(ValidationError, match="no_such_field"):
        tracer.emit(RunFinished, **COSTS, status="ok", no_such_field=1)
    with pytest.raises(ValidationError, match="status"):
        tracer.emit(RunFinished, **COSTS)
    tracer.close()
    assert path.read_text() == ""


def test_validation_on_the_way_out_catches_a_wrong_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.jsonl"
    monkeypatch.setenv("DISPATCHER_VALIDATE_EVENTS", "1")
    tracer = Tracer("r1", [JsonlTraceSink(path)], trace_path=path)
    with pytest.raises(ValidationError, match="status"):
        tracer.emit(RunFinished, **COSTS, status="not-a-status")
    monkeypatch.setenv("DISPATCHER_VALIDATE_EVENTS", "0")
    unchecked = Tracer("r1", [JsonlTraceSink(path)], trace_path=path)
    # written as given; the reader refuses it
    unchecked.emit(RunFinished, **COSTS, status="not-a-status")
    unchecked.close()
    with pytest.raises(Exception, match="status"):
        list(read_trace(path))


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


ODD_SIGNALS: dict[str, Any] = {
    "array": np.arange(3),  # a tool computing statistics
    "number": np.float64(1.5),
    "object": _Opaque(),
    "raw": b"\xff\xfe not utf-8",
    "nested": {"deeper": [_Opaque(), b"ok"]},
}


@pytest.mark.parametrize("sinks", ["file_only", "file_and_memory"])
def test_a_tool_signal_the_json_writer_does_not_know_never_breaks_the_trace(
    tmp_path: Path, sinks: str
) -> None:
    # Signals (and gate evidence) come from user code: a numpy array, an object or bytes
    # that are not UTF-8 ended the whole run with a PydanticSerializationError.
    path = tmp_path / "run.jsonl"
    extra = [MemoryTraceSink()] if sinks == "file_and_memory" else []
    tracer = Tracer("r1", [JsonlTraceSink(path), *extra], trace_path=path)
    tracer.emit(ToolCallEvent, **{**CASES[0][1], "signals": ODD_SIGNALS})
    tracer.close()
    (event,) = read_trace(path)
    signals = event.signals  # type: ignore[union-attr]
    assert signals["array"] == [0, 1, 2] and signals["number"] == 1.5
    assert signals["object"] == "<opaque>" and signals["nested"]["deeper"][0] == "<opaque>"
    assert "not utf-8" in signals["raw"]


@pytest.mark.parametrize("sinks", ["file_only", "file_and_memory"])
def test_text_holding_a_lone_surrogate_never_breaks_the_trace(tmp_path: Path, sinks: str) -> None:
    # os.listdir gives a file name that is not UTF-8 as text with lone surrogates ('\udcff'):
    # a tool output or signal holding one ended the whole run with a PydanticSerializationError.
    path = tmp_path / "run.jsonl"
    extra = [MemoryTraceSink()] if sinks == "file_and_memory" else []
    tracer = Tracer("r1", [JsonlTraceSink(path), *extra], trace_path=path)
    odd = "report-\udcff.csv"
    fields = {**CASES[0][1], "output": odd, "signals": {"files": [odd], odd: 1}}
    tracer.emit(ToolCallEvent, **fields)
    tracer.close()
    (event,) = read_trace(path)
    assert event.output == "report-\ufffd.csv"  # type: ignore[union-attr]
    assert event.signals == {"files": ["report-\ufffd.csv"], "report-\ufffd.csv": 1}  # type: ignore[union-attr]
