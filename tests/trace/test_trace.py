"""Trace files: one validated JSON event a line, flushed as it happens, readable after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dispatcher.errors import DataError
from dispatcher.trace.events import ModelCall, RunStarted, event_json_schema
from dispatcher.trace.reader import find_run, read_trace
from dispatcher.trace.sink import JsonlTraceSink
from dispatcher.trace.tracer import Tracer


def _tracer(path: Path) -> Tracer:
    return Tracer("r1", [JsonlTraceSink(path)])


def test_each_event_is_flushed_as_one_line_before_close(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    tracer = _tracer(path)
    tracer.emit(RunStarted, task="t")
    # Not closed: a killed process leaves exactly what was emitted so far.
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["kind"] == "run_started"
    tracer.close()


def test_lines_validate_against_the_published_schema(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    tracer = _tracer(path)
    tracer.emit(RunStarted, task="t")
    tracer.emit(
        ModelCall, agent="a", model="m", input_tokens=1, output_tokens=2, cost_usd=0.1, latency_ms=3
    )
    tracer.close()
    validator = jsonschema.Draft202012Validator(event_json_schema())
    for line in path.read_text().splitlines():
        validator.validate(json.loads(line))


def test_secrets_are_redacted_on_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    tracer = _tracer(path)
    tracer.emit(RunStarted, task="use key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX please")
    tracer.close()
    assert "ABCDEFGHIJKLMNOP" not in path.read_text()


def test_a_truncated_last_line_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    tracer = _tracer(path)
    tracer.emit(RunStarted, task="t")
    tracer.close()
    with path.open("a") as handle:
        handle.write('{"kind": "model_call", "run_id": "r1", "ts"')
    assert [e.kind for e in read_trace(path)] == ["run_started"]


def test_a_corrupt_line_names_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    path.write_text('{"kind": "nope", "run_id": "r", "ts": "x", "span_id": "s"}\n{}\n')
    with pytest.raises(DataError, match=r"r1.jsonl:1"):
        read_trace(path)


def test_find_run_by_prefix_latest_and_path(tmp_path: Path) -> None:
    for name in ("20260101T000000-aaaa", "20260102T000000-bbbb"):
        (tmp_path / f"{name}.jsonl").write_text("")
    assert find_run("20260101", tmp_path).stem == "20260101T000000-aaaa"
    assert find_run(str(tmp_path / "20260102T000000-bbbb.jsonl")).stem.endswith("bbbb")
    with pytest.raises(DataError, match="ambiguous"):
        find_run("2026", tmp_path)
    with pytest.raises(DataError, match="no run"):
        find_run("zzz", tmp_path)
