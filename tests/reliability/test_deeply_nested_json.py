"""JSON from a model nested deeper than 100 levels is malformed output like any other: the
model is told, the run goes on (no RecursionError out of the run, no trace line pydantic cannot
write or read back)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_harness import kinds, scripted_registry

from dispatcher import Agent, Dispatcher, ModelResponse, ToolCall, tool
from dispatcher._model_json import loads_model_json
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.reader import read_trace

DEEP = "[" * 100_000 + "]" * 100_000  # past the parser's recursion limit


@tool
def echo(text: str) -> str:
    """Echo the text back."""
    return text


ECHOER = Agent(name="echoer", description="Echoes.", tools=[echo], tier="weak")
ROUTE = tool_calls(("echoer", {"task": "echo hi"}), agent="dispatcher")


def _call(name: str, arguments: str) -> ModelResponse:
    return ModelResponse(text="", tool_calls=(ToolCall("c1", name, arguments),))


@pytest.mark.parametrize(
    "turns",
    [
        [
            ROUTE,
            _call("echo", '{"text": ' + DEEP + "}"),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
        [
            ROUTE,
            _call("escalate", '{"reason": ' + DEEP + "}"),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
        [
            _call("echoer", '{"task": ' + DEEP + "}"),
            ROUTE,
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
    ],
    ids=["tool_arguments", "escalate_arguments", "route_arguments"],
)
def test_deeply_nested_arguments_are_malformed_output(tmp_path: Path, turns: list[object]) -> None:
    registry, small, _ = scripted_registry([ECHOER], small=turns)
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("echo hi")
    small.assert_complete()
    assert result.status == "ok"
    assert result.answer == "final"


@pytest.mark.parametrize("depth", [150, 600, 100_000])
def test_a_deep_tool_call_is_an_invalid_json_tool_error(tmp_path: Path, depth: int) -> None:
    # 150: the trace line could be written but not read back; 600: not even written.
    deep = "[" * depth + "]" * depth
    registry, _, _ = scripted_registry(
        [ECHOER],
        small=[
            ROUTE,
            _call("echo", '{"text": ' + deep + "}"),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
    )
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("echo hi")
    calls = kinds(result.events, "tool_call")
    assert [c.error_kind for c in calls] == ["invalid_json"]
    assert result.trace_path is not None
    assert read_trace(result.trace_path)[-1].kind == "run_finished"


def test_ordinary_nesting_is_accepted() -> None:
    nested = "[" * 50 + "1" + "]" * 50
    assert loads_model_json('{"a": ' + nested + "}")["a"] == json.loads(nested)


HUGE_INT = "1" + "0" * 5000  # past Python's 4300-digit limit on int parsing


@pytest.mark.parametrize(
    "turns",
    [
        [
            ROUTE,
            _call("echo", '{"text": ' + HUGE_INT + "}"),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
        [
            ROUTE,
            _call("escalate", '{"reason": ' + HUGE_INT + ', "question": "q"}'),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
        [
            _call("echoer", '{"task": ' + HUGE_INT + "}"),
            ROUTE,
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
    ],
    ids=["tool_arguments", "escalate_arguments", "route_arguments"],
)
def test_an_integer_too_long_to_parse_is_malformed_output(
    tmp_path: Path, turns: list[object]
) -> None:
    # json.loads raises a bare ValueError (not JSONDecodeError) past 4300 digits: it ended
    # the run with a traceback instead of telling the model.
    registry, small, _ = scripted_registry([ECHOER], small=turns)
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("echo hi")
    small.assert_complete()
    assert result.status == "ok" and result.answer == "final"
    with pytest.raises(json.JSONDecodeError, match="digits"):
        loads_model_json('{"a": ' + HUGE_INT + "}")
