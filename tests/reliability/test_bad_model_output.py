"""Guarantee 8: malformed or schema-invalid arguments never execute a tool; unknown tool names,
different every turn, are stopped by one cap per run."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_harness import kinds, scripted_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.errors import ToolErrorCapExceeded
from dispatcher.messages import ToolCall
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.reader import read_trace

transfers: list[tuple[str, int]] = []


@tool
def transfer(account: str, cents: int) -> str:
    """Move money (never with arguments the schema refuses)."""
    transfers.append((account, cents))
    return f"moved {cents} to {account}"


BANKER = Agent(name="banker", description="Moves money.", tools=[transfer], tier="weak")
AUDITOR = Agent(name="auditor", description="Checks money.", tools=[transfer], tier="weak")


@pytest.fixture(autouse=True)
def _fresh() -> None:
    transfers.clear()


def test_malformed_and_schema_invalid_arguments_never_run_the_tool(tmp_path: Path) -> None:
    bad = [
        ToolCall("b1", "transfer", '{"account": "acme", "cents": 5'),  # truncated JSON
        ToolCall("b2", "transfer", '{"account": "acme", "cents": "5"}'),  # wrong type
        ToolCall("b3", "transfer", '{"account": "acme"}'),  # missing field
        ToolCall("b4", "transfer", '["acme", 5]'),  # not an object
        ToolCall("b5", "transfer", '{"account": "acme", "cents": 5.5}'),  # not an integer
    ]
    registry, small, _ = scripted_registry(
        [BANKER],
        small=[
            tool_calls(("banker", {"task": "pay acme 5 cents"}), agent="dispatcher"),
            *[tool_calls(call, agent="banker") for call in bad],
            tool_calls(("transfer", {"account": "acme", "cents": 5}), agent="banker"),
            reply("paid", agent="banker"),
            reply("Paid acme.", agent="dispatcher"),
        ],
    )
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("pay acme")
    small.assert_complete()
    assert transfers == [("acme", 5)]  # only the valid call ran
    events = kinds(result.events, "tool_call")
    assert [e.error_kind for e in events] == [
        "invalid_json",
        "invalid_arguments",
        "invalid_arguments",
        "invalid_arguments",
        "invalid_arguments",
        None,
    ]
    # Each error went back to the model as a tool result it can correct.
    worker = [r for r in small.requests if r.metadata.get("agent") == "banker"]
    assert "not valid JSON" in str(worker[1].messages[-1])
    assert "'5' is not of type 'integer'" in str(worker[2].messages[-1])


def test_unknown_tool_names_different_every_turn_hit_the_global_cap(tmp_path: Path) -> None:
    """Invalid calls of every agent count against one cap (8 by default) per run."""
    first = [tool_calls((f"made_up_{i}", {}), agent="banker") for i in range(5)]
    second = [tool_calls((f"invented_{i}", {"x": i}), agent="auditor") for i in range(5)]
    registry, small, _ = scripted_registry(
        [BANKER, AUDITOR],
        small=[
            tool_calls(("banker", {"task": "pay"}), agent="dispatcher"),
            *first,
            reply("gave up", agent="banker"),
            tool_calls(("auditor", {"task": "audit"}), agent="dispatcher"),
            *second,
        ],
    )
    with pytest.raises(ToolErrorCapExceeded, match="9 invalid tool calls") as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("pay and audit")
    assert transfers == []
    events = kinds(caught.value.events, "tool_call")
    assert len(events) == 9 and {e.error_kind for e in events} == {"unknown_tool"}
    assert len({e.tool for e in events}) == 9  # a different name every time
    assert small.remaining == 1  # stopped before the auditor's 5th made-up call
    (trace,) = tmp_path.glob("*.jsonl")
    finished = read_trace(trace)[-1]
    assert finished.kind == "run_finished" and finished.status == "error"
    assert finished.error is not None and finished.error["type"] == "ToolErrorCapExceeded"


def test_a_model_that_keeps_sending_broken_json_is_stopped_too(tmp_path: Path) -> None:
    broken = [
        tool_calls(ToolCall(f"j{i}", "transfer", "{" * (i + 1)), agent="banker") for i in range(12)
    ]
    registry, small, _ = scripted_registry(
        [BANKER],
        small=[tool_calls(("banker", {"task": "pay"}), agent="dispatcher"), *broken],
    )
    with pytest.raises(ToolErrorCapExceeded):
        Dispatcher(registry, runs_dir=tmp_path).run_sync("pay")
    assert transfers == [] and small.remaining == 3
