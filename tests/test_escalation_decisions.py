"""The escalation path holds with a weak overwatch: odd decisions, failed take-overs."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario import registry

from dispatcher import Agent, Dispatcher, RunError, ToolOutput, tool
from dispatcher.messages import ToolCall
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.reader import read_trace


@tool
def lookup(key: str) -> ToolOutput:
    """Look up a value by key."""
    if key == "right":
        return ToolOutput("value=42")
    return ToolOutput(f"Error: no such key {key!r}", is_error=True)


WORKER = Agent(name="worker", description="Looks things up.", tools=[lookup], tier="weak")
ASK = tool_calls(("escalate", {"reason": "stuck", "question": "help"}), agent="worker")
DISPATCH = tool_calls(("worker", {"task": "find the value"}), agent="dispatcher")


def decision(arguments: str) -> object:
    """An overwatch_decision call with raw (possibly malformed) argument text."""
    return tool_calls(ToolCall("call_decision", "overwatch_decision", arguments))


def episodes(result: object) -> list[dict[str, object]]:
    return [e.model_dump() for e in result.events if e.kind == "escalation"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("spelling", ["take over", "Take_Over", "take-over", "TAKEOVER"])
def test_a_near_miss_mode_spelling_is_read_as_that_mode(spelling: str) -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[DISPATCH, ASK, reply("The value is 42.", agent="dispatcher")],
        strong=[
            decision(f'{{"mode": "{spelling}", "guidance": "I will look it up"}}'),
            tool_calls(("lookup", {"key": "right"})),
            reply("42"),
        ],
    )
    result = Dispatcher(reg).run_sync("find the value")
    strong.assert_complete()
    (episode,) = episodes(result)
    assert episode["mode"] == "take_over" and episode["outcome"] == "took_over"


def test_a_decision_without_a_valid_mode_keeps_its_guidance_as_advice() -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[
            DISPATCH,
            ASK,
            tool_calls(("lookup", {"key": "right"}), agent="worker"),
            reply("42", agent="worker"),
            reply("The value is 42.", agent="dispatcher"),
        ],
        strong=[decision('{"mode": "panic", "guidance": "use the key named right"}')],
    )
    result = Dispatcher(reg).run_sync("find the value")
    (episode,) = episodes(result)
    assert episode["mode"] == "advise" and episode["outcome"] == "advised"
    assert episode["guidance"] == "use the key named right"
    worker_requests = [r for r in small.requests if r.metadata.get("agent") == "worker"]
    assert any("use the key named right" in str(m) for m in worker_requests[-1].messages)


def test_an_unparseable_decision_is_advice_and_the_trace_says_it_was_not_understood() -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[DISPATCH, ASK, reply("42", agent="worker"), reply("42", agent="dispatcher")],
        strong=[decision('{"mode": "advise", "guidance": "cut off')],
    )
    result = Dispatcher(reg).run_sync("find the value")
    (episode,) = episodes(result)
    assert episode["mode"] == "advise" and episode["outcome"] == "advised"
    notes = [e.message for e in result.events if e.kind == "note"]  # type: ignore[attr-defined]
    assert any("could not be read" in note for note in notes)


def test_a_take_over_that_runs_out_of_budget_still_records_its_mode(tmp_path: Path) -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[DISPATCH, ASK],
        strong=[
            decision('{"mode": "take_over", "guidance": "I will do it"}'),
            *[tool_calls(("lookup", {"key": f"wrong{i}"})) for i in range(10)],
        ],
        dispatcher={"budgets": {"turns": 6}},
    )
    with pytest.raises(RunError) as caught:
        Dispatcher(reg, runs_dir=tmp_path).run_sync("find the value")
    assert caught.value.trace_path is not None
    events = read_trace(caught.value.trace_path)
    (episode,) = [e for e in events if e.kind == "escalation"]
    assert episode.mode == "take_over" and episode.outcome == "failed"  # type: ignore[attr-defined]
