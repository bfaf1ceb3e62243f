"""`Dispatcher.stream`: events as they happen, the answer as text, cancellation on early exit."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from scenario import registry

from dispatcher import Agent, ConfigError, Dispatcher, TextDelta
from dispatcher.errors import UnexpectedModelCall
from dispatcher.messages import ModelRequest, ModelResponse, Usage
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


async def test_model_text_arrives_as_the_model_writes_it_then_the_answer() -> None:
    from dispatcher import ModelTextDelta
    from dispatcher.models._text_deltas import text_writer

    reg, small, _ = registry(
        [SALES],
        small=[
            tool_calls(("sales", {"task": "q1"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )

    class Streaming:
        """Plays a streaming adapter: the scripted text in 3-character pieces, then `end`."""

        model_id = "small-model"

        async def request(self, request: ModelRequest) -> ModelResponse:
            response = await small.request(request)
            writer = text_writer(self.model_id)
            if writer is not None:
                for start in range(0, len(response.text), 3):
                    writer.write(response.text[start : start + 3])
                writer.end()
            return response

    reg.use_models({"small": Streaming()})
    async with Dispatcher(reg).stream("How did q1 go?", model_text=True) as events:
        items = [item async for item in events]
    deltas = [i for i in items if isinstance(i, ModelTextDelta)]
    assert "".join(d.text for d in deltas) == "10 units" + "Sales were 10 units."
    # Whole words only: a delta ends at whitespace, or is the end of its call's text.
    assert {d.text for d in deltas if not d.text[-1].isspace()} == {"units", "units."}
    assert {d.model for d in deltas} == {"small-model"}
    assert items[-1] == TextDelta("Sales were 10 units.")
    finished = next(
        i for i, item in enumerate(items) if getattr(item, "kind", "") == "run_finished"
    )
    assert all(items.index(d) < finished for d in deltas)


async def test_without_model_text_nothing_listens() -> None:
    from dispatcher import ModelTextDelta
    from dispatcher.models._text_deltas import listening

    heard: list[bool] = []

    def model(request: ModelRequest) -> ModelResponse:
        heard.append(listening())
        return ModelResponse(text="done", usage=Usage(1, 1), model="small-model")

    reg, _, _ = registry([SALES], small=[])
    reg.use_models({"small": FunctionModel(model, model_id="small-model")})
    async with Dispatcher(reg).stream("q") as events:
        items = [item async for item in events]
    assert heard and not any(heard)
    assert not any(isinstance(i, ModelTextDelta) for i in items)


async def test_a_model_that_does_not_stream_gives_its_text_whole_when_its_turn_ends() -> None:
    # docs/gateway.md: other models (a local model, a script) "give their text when their turn
    # ends". They gave none: `ask --model-text` showed nothing of a local worker, and a
    # dispatcher/auto stream had no reasoning_content for it.
    from dispatcher import ModelTextDelta

    reg, _, _ = registry(
        [SALES],
        small=[
            tool_calls(("sales", {"task": "q1"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    async with Dispatcher(reg).stream("How did q1 go?", model_text=True) as events:
        items = [item async for item in events]
    deltas = [i for i in items if isinstance(i, ModelTextDelta)]
    by_agent: dict[str | None, str] = {}
    for delta in deltas:
        by_agent[delta.agent] = by_agent.get(delta.agent, "") + delta.text
    assert by_agent == {"sales": "10 units", "dispatcher": "Sales were 10 units."}
    assert {d.model for d in deltas} == {"small-model"}  # the provider model id, as streamed
    assert items[-1] == TextDelta("Sales were 10 units.")
    calls = [i for i, item in enumerate(items) if getattr(item, "kind", "") == "model_call"]
    # Each call's text arrives before that call's model_call event, as a streamed one does.
    assert items.index(deltas[0]) < calls[1] and items.index(deltas[-1]) < calls[2]


def _sales_dispatcher() -> Dispatcher:
    reg, _, _ = registry(
        [SALES],
        small=[
            tool_calls(("sales", {"task": "q1"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    return Dispatcher(reg)


async def test_reading_after_the_block_ends_is_a_clear_error() -> None:
    stream = _sales_dispatcher().stream("How did q1 go?")
    async with stream as events:
        items = [item async for item in events]
        assert [item async for item in events] == []  # a second pass is empty
    assert items[-1] == TextDelta("Sales were 10 units.")
    with pytest.raises(ConfigError, match="async with"):
        await stream.__anext__()


async def test_a_stream_runs_once_entering_it_again_is_a_clear_error() -> None:
    stream = _sales_dispatcher().stream("How did q1 go?")
    async with stream as events:
        [item async for item in events]
    with pytest.raises(ConfigError, match="once"):
        async with stream:
            pass
    nested = _sales_dispatcher().stream("How did q1 go?")
    with pytest.raises(ConfigError, match="once"):
        async with nested, nested:
            pass


@pytest.mark.parametrize("task", [5, None, "", "  "])
async def test_a_bad_task_is_refused_when_the_stream_is_made(task: object) -> None:
    with pytest.raises(ConfigError, match="task"):
        _sales_dispatcher().stream(task)  # type: ignore[arg-type]


async def test_a_bad_approver_is_refused_when_the_stream_is_made() -> None:
    with pytest.raises(ConfigError, match="approve"):
        _sales_dispatcher().stream("q", approve="yes")  # type: ignore[arg-type]
