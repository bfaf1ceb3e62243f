"""`Dispatcher.stream`: events as they happen, the answer as text, cancellation on early exit."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from scenario import registry

from dispatcher import Agent, ConfigError, Dispatcher, TextDelta
from dispatcher.errors import UnexpectedModelCall
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.testing import FunctionModel, reply, tool_calls
from dispatcher.trace.events import RunFinished, RunStarted
from dispatcher.trace.reader import read_trace

pytestmark = pytest.mark.anyio

SALES = Agent(name="sales", description="Sales figures.", tier="weak")


async def test_events_arrive_in_order_then_the_answer() -> None:
    reg, small, _ = registry(
        [SALES],
        small=[
            tool_calls(("sales", {"task": "q1"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    dispatcher = Dispatcher(reg)
    async with dispatcher.stream("How did q1 go?") as events:
        items = [item async for item in events]
    small.assert_complete()
    kinds = [getattr(i, "kind", "text") for i in items]
    assert kinds[0] == "run_started" and kinds[-2:] == ["run_finished", "text"]
    assert "route" in kinds and "model_call" in kinds
    assert items[-1] == TextDelta("Sales were 10 units.")
    assert events.result is not None and events.result.answer == "Sales were 10 units."


async def test_a_failed_run_raises_after_its_events() -> None:
    reg, _, _ = registry([SALES], small=[])
    seen: list[str] = []
    with pytest.raises(UnexpectedModelCall, match="no turn left"):
        async with Dispatcher(reg).stream("q") as events:
            async for item in events:
                seen.append(getattr(item, "kind", "text"))
    assert seen[0] == "run_started" and seen[-1] == "run_finished"


async def test_leaving_early_cancels_the_run_and_the_trace_says_cancelled() -> None:
    never = anyio.Event()

    async def waits_forever(request: ModelRequest) -> ModelResponse:
        await never.wait()  # only cancellation ends this call
        raise AssertionError("not reached")

    reg, _, _ = registry([SALES], small=[])
    reg.use_models({"small": FunctionModel(waits_forever, model_id="small-model")})
    async with Dispatcher(reg).stream("q") as events:
        async for item in events:
            if isinstance(item, RunStarted):
                run_id = item.run_id
                break
    assert events.result is None
    trace = list(read_trace(Path(os.environ["DISPATCHER_RUNS_DIR"]) / f"{run_id}.jsonl"))
    assert isinstance(trace[-1], RunFinished) and trace[-1].status == "cancelled"


async def test_iterating_outside_async_with_is_a_clear_error() -> None:
    reg, _, _ = registry([SALES], small=[])
    with pytest.raises(ConfigError, match="async with"):
        async for _ in Dispatcher(reg).stream("q"):
            pass


async def test_cli_progress_prints_each_decision_as_it_happens() -> None:
    import io

    from rich.console import Console

    from dispatcher.cli._progress import run_with_progress

    reg, _, _ = registry(
        [SALES],
        small=[
            tool_calls(("sales", {"task": "q1"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    result = await run_with_progress(Dispatcher(reg), "How did q1 go?", None, console)
    lines = out.getvalue().splitlines()
    assert result.answer == "Sales were 10 units."
    assert lines[0] == "agent dispatcher on small (dispatcher)"
    assert "route dispatcher_model → sales" in lines
    assert "agent sales on small (worker)" in lines
