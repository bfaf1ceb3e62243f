"""Guarantee 7: budgets are checked before each request; spend overshoots by at most one
request; the exit reason lands in `run_finished` (status and error)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
from reliability_harness import kinds, scripted_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.cassette import CassetteTurn
from dispatcher.errors import BudgetExceeded
from dispatcher.messages import ModelRequest, ModelResponse, ToolCall, Usage
from dispatcher.testing import FunctionModel, reply, tool_calls
from dispatcher.trace.reader import read_trace

ticks: list[int] = []


@tool
def tick() -> str:
    """Count one step."""
    ticks.append(1)
    return f"tick {len(ticks)}"


COUNTER = Agent(name="counter", description="Counts.", tools=[tick], tier="weak")


@pytest.fixture(autouse=True)
def _fresh() -> None:
    ticks.clear()


def _finished(error: BudgetExceeded) -> Any:
    finished: Any = error.events[-1]
    assert finished.kind == "run_finished"
    return finished


def _assert_recorded(error: BudgetExceeded, budget: str, trace_dir: Path) -> None:
    """Exit reason in the exception, in run_finished, and in the trace file on disk."""
    assert error.budget == budget
    finished = _finished(error)
    assert finished.status == "budget_exceeded"
    assert finished.error["type"] == "BudgetExceeded" and repr(budget) in finished.error["message"]
    (trace,) = trace_dir.glob("*.jsonl")
    on_disk = read_trace(trace)[-1]
    assert on_disk.kind == "run_finished" and on_disk.status == "budget_exceeded"


def test_token_budget_stops_before_the_request_that_would_overrun(tmp_path: Path) -> None:
    usage = Usage(100, 20)  # 120 tokens a call
    delegate = CassetteTurn(
        tool_calls=(ToolCall("d", "counter", '{"task": "count"}'),), usage=usage, agent="dispatcher"
    )
    steps = [
        CassetteTurn(tool_calls=(ToolCall(f"t{i}", "tick", "{}"),), usage=usage, agent="counter")
        for i in range(20)
    ]
    registry, _, _ = scripted_registry(
        [COUNTER], small=[delegate, *steps], dispatcher={"budgets": {"tokens": 500}}
    )
    with pytest.raises(BudgetExceeded) as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("count")
    _assert_recorded(caught.value, "tokens", tmp_path)
    calls = kinds(caught.value.events, "model_call")
    spent = [c.input_tokens + c.output_tokens for c in calls]
    # 4 calls = 480 < 500, the 5th is allowed (checked before it), the 6th never sent.
    assert len(calls) == 5
    assert sum(spent[:-1]) < 500 <= sum(spent) <= 500 + max(spent)
    assert _finished(caught.value).input_tokens + _finished(caught.value).output_tokens == 600


def test_tool_call_budget_stops_the_next_tool_even_within_one_turn(tmp_path: Path) -> None:
    many = tool_calls(*[("tick", {}) for _ in range(5)], agent="counter")
    registry, small, _ = scripted_registry(
        [COUNTER],
        small=[tool_calls(("counter", {"task": "count"}), agent="dispatcher"), many],
        dispatcher={"budgets": {"tool_calls": 3}},
    )
    with pytest.raises(BudgetExceeded) as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("count")
    small.assert_complete()
    _assert_recorded(caught.value, "tool_calls", tmp_path)
    assert len(ticks) == 3  # the 4th call of the same turn never ran
    assert len(kinds(caught.value.events, "tool_call")) == 3
    assert _finished(caught.value).tool_calls == 3


def test_tool_call_budget_is_checked_before_the_next_model_request(tmp_path: Path) -> None:
    one = [tool_calls(("tick", {}), agent="counter") for _ in range(5)]
    registry, small, _ = scripted_registry(
        [COUNTER],
        small=[tool_calls(("counter", {"task": "count"}), agent="dispatcher"), *one],
        dispatcher={"budgets": {"tool_calls": 2}},
    )
    with pytest.raises(BudgetExceeded) as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("count")
    _assert_recorded(caught.value, "tool_calls", tmp_path)
    assert len(ticks) == 2
    assert len(kinds(caught.value.events, "model_call")) == 3  # no request after the 2nd tool
    assert small.remaining == 3


class FakeClock:
    """Stands in for time.monotonic inside dispatcher.budgets; each model call takes 10 s."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_wall_time_budget_stops_before_the_next_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    # Only the budget module sees the fake clock (the event loop keeps the real one).
    monkeypatch.setattr("dispatcher.budgets.time", types.SimpleNamespace(monotonic=clock.monotonic))
    sent: list[float] = []

    def model(request: ModelRequest) -> ModelResponse:
        sent.append(clock.now)
        clock.now += 10.0  # this request took 10 s
        n = len(sent)
        if request.metadata.get("agent") == "dispatcher":
            call = ToolCall("d", "counter", '{"task": "count"}')
        else:
            call = ToolCall(f"t{n}", "tick", "{}")
        return ModelResponse(
            text="", tool_calls=(call,), usage=Usage(10, 5), finish_reason="tool_calls"
        )

    registry, _, _ = scripted_registry([COUNTER], small=[], dispatcher={"budgets": {"wall_s": 25}})
    registry.use_models({"small": FunctionModel(model)})
    with pytest.raises(BudgetExceeded) as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("count")
    _assert_recorded(caught.value, "wall_s", tmp_path)
    # Requests at t=0, 10, 20 (all before the 25 s limit); at t=30 none is sent.
    assert [t - 1000.0 for t in sent] == [0.0, 10.0, 20.0]
    assert caught.value.spent == 30.0  # over by less than one request
    assert len(ticks) == 2


def test_turn_budget_of_an_agent_counts_its_own_requests(tmp_path: Path) -> None:
    limited = Agent(
        name="counter", description="Counts.", tools=[tick], tier="weak", budgets={"turns": 2}
    )
    step = [tool_calls(("tick", {}), agent="counter") for _ in range(4)]
    registry, small, _ = scripted_registry(
        [limited],
        small=[tool_calls(("counter", {"task": "count"}), agent="dispatcher"), *step],
    )
    with pytest.raises(BudgetExceeded) as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("count")
    _assert_recorded(caught.value, "turns", tmp_path)
    worker_calls = [c for c in kinds(caught.value.events, "model_call") if c.agent == "counter"]
    assert len(worker_calls) == 2 and small.remaining == 2
    (done,) = [e for e in kinds(caught.value.events, "agent_finished") if e.agent == "counter"]
    assert done.status == "budget_exceeded"


def test_usd_budget_includes_the_dispatcher_and_stops_before_overrun(tmp_path: Path) -> None:
    usage = Usage(1000, 100)  # 0.2*1000/1e6 + 0.8*100/1e6 = $0.00028 a call
    steps = [
        CassetteTurn(tool_calls=(ToolCall(f"t{i}", "tick", "{}"),), usage=usage, agent="counter")
        for i in range(10)
    ]
    delegate = CassetteTurn(
        tool_calls=(ToolCall("d", "counter", '{"task": "count"}'),), usage=usage, agent="dispatcher"
    )
    registry, _, _ = scripted_registry(
        [COUNTER], small=[delegate, *steps], dispatcher={"budgets": {"usd": 0.001}}
    )
    with pytest.raises(BudgetExceeded) as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("count")
    _assert_recorded(caught.value, "usd", tmp_path)
    costs = [c.cost_usd for c in kinds(caught.value.events, "model_call")]
    assert len(costs) == 4  # 3 calls = $0.00084 < $0.001, the 4th allowed, the 5th not
    assert sum(costs[:-1]) < 0.001 <= sum(costs) <= 0.001 + max(costs)


def test_an_unlimited_run_is_not_stopped(tmp_path: Path) -> None:
    registry, small, _ = scripted_registry(
        [COUNTER],
        small=[
            tool_calls(("counter", {"task": "count"}), agent="dispatcher"),
            *[tool_calls(("tick", {}), agent="counter") for _ in range(3)],
            reply("3", agent="counter"),
            reply("three", agent="dispatcher"),
        ],
    )
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("count")
    small.assert_complete()
    assert result.answer == "three" and len(ticks) == 3


def test_each_run_takes_the_registry_budgets_as_they_are_then(tmp_path: Path) -> None:
    import anyio

    from dispatcher.budgets import Budgets
    from dispatcher.runner import run_session

    registry, _, _ = scripted_registry([COUNTER], small=[], dispatcher={"budgets": {"turns": 7}})

    async def limits(override: Budgets | None = None) -> Budgets:
        async with run_session(registry, "t", entry="x", runs_dir=tmp_path, budgets=override) as (
            run,
            _,
        ):
            return run.budget.budgets

    assert anyio.run(limits).turns == 7
    assert anyio.run(limits).turns == 7  # the same settings again
    registry.config.settings.budgets.turns = 3  # changed in place between runs
    registry.config.settings.budgets.usd = 0.5
    assert anyio.run(limits) == Budgets(turns=3, usd=0.5)
    assert anyio.run(limits, Budgets(tokens=10)) == Budgets(turns=3, usd=0.5, tokens=10)
    registry.config.settings.budgets.turns = None
    assert anyio.run(limits).turns == 100  # the default cap
