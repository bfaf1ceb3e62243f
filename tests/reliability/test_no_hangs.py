"""Nothing hangs: wall_s bounds the whole run (a silent model request included), a run with no
budget still stops at the default turn cap, a worker whose escalation is refused cannot call the
model forever, and blocking work in a sync tool never stalls the event loop."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from reliability_harness import kinds, scripted_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.budgets import DEFAULT_MAX_TURNS
from dispatcher.errors import BudgetExceeded, EscalationRefused, RunError
from dispatcher.messages import ModelRequest, ModelResponse, ToolCall, Usage
from dispatcher.testing import FunctionModel, tool_calls
from dispatcher.tools.executor import ToolExecutor
from dispatcher.tools.tool import Tool
from dispatcher.trace.tracer import Tracer

pytestmark = pytest.mark.anyio


@tool
def look() -> str:
    """Look around."""
    return "nothing new"


LOOKER = Agent(name="looker", description="Looks.", tools=[look], tier="weak")
DELEGATE = tool_calls(("looker", {"task": "look"}), agent="dispatcher")


async def _silent(request: ModelRequest) -> ModelResponse:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


@pytest.mark.parametrize("level", ["run", "agent"])
async def test_wall_s_bounds_one_silent_model_request(tmp_path: Path, level: str) -> None:
    budgets = {"wall_s": 0.5}
    agent = Agent(
        name="looker",
        description="Looks.",
        tools=[look],
        tier="weak",
        budgets=budgets if level == "agent" else None,
    )
    registry, _, _ = scripted_registry(
        [agent], small=[DELEGATE], dispatcher={"budgets": budgets} if level == "run" else None
    )
    silent = FunctionModel(_silent)
    scripted = registry.model("small")
    calls = {"n": 0}

    async def first_scripted_then_silent(request: ModelRequest) -> ModelResponse:
        calls["n"] += 1
        if calls["n"] == 1:
            return await scripted.request(request)  # the dispatcher delegates
        return await silent.request(request)

    registry.use_models({"small": FunctionModel(first_scripted_then_silent)})
    started = time.monotonic()
    with pytest.raises(BudgetExceeded) as caught:
        await Dispatcher(registry, runs_dir=tmp_path).run("look")
    assert time.monotonic() - started < 5
    assert caught.value.budget == "wall_s"
    assert caught.value.trace_path is not None and caught.value.trace_path.is_file()
    assert caught.value.events and caught.value.events[-1].kind == "run_finished"


def _endless_looker(request: ModelRequest) -> ModelResponse:
    """A model that never stops calling tools (detectors are off in these registries)."""
    turn = len(request.messages)
    if request.metadata.get("agent") == "dispatcher":
        return ModelResponse(
            "", tool_calls=(ToolCall("d", "looker", '{"task": "look"}'),), usage=Usage(10, 5)
        )
    return ModelResponse("", tool_calls=(ToolCall(f"c{turn}", "look", "{}"),), usage=Usage(10, 5))


async def test_a_run_with_no_budget_stops_at_the_default_turn_cap(tmp_path: Path) -> None:
    registry, _, _ = scripted_registry([LOOKER], small=[])
    registry.use_models({"small": FunctionModel(_endless_looker)})
    with pytest.raises(BudgetExceeded) as caught:
        await Dispatcher(registry, runs_dir=tmp_path).run("look")
    assert caught.value.budget == "turns" and caught.value.limit == DEFAULT_MAX_TURNS
    assert len(kinds(caught.value.events, "model_call")) == DEFAULT_MAX_TURNS


async def test_the_default_turn_cap_is_configurable(tmp_path: Path) -> None:
    registry, _, _ = scripted_registry([LOOKER], small=[], dispatcher={"budgets": {"turns": 7}})
    registry.use_models({"small": FunctionModel(_endless_looker)})
    with pytest.raises(BudgetExceeded) as caught:
        await Dispatcher(registry, runs_dir=tmp_path).run("look")
    assert caught.value.limit == 7


def _stuck_looker(request: ModelRequest) -> ModelResponse:
    """The same call again and again: the loop detector fires every few steps."""
    if request.metadata.get("agent") == "dispatcher":
        return ModelResponse(
            "", tool_calls=(ToolCall("d", "looker", '{"task": "look"}'),), usage=Usage(10, 5)
        )
    turn = len(request.messages)
    return ModelResponse("", tool_calls=(ToolCall(f"c{turn}", "look", "{}"),), usage=Usage(10, 5))


@pytest.mark.parametrize("refusal", ["quota", "budget"])
async def test_a_worker_whose_escalation_is_refused_cannot_call_the_model_forever(
    tmp_path: Path, refusal: str
) -> None:
    settings: dict[str, Any] = {
        "detectors": {"enabled": True},
        "escalation": {"enabled": True, "nudges": 0, "quota": 0 if refusal == "quota" else 3},
    }
    if refusal == "budget":
        settings["budgets"] = {"usd": 0.01}  # ~1600 worker calls, not one overwatch reply
    registry, _, _ = scripted_registry([LOOKER], small=[], dispatcher=settings)
    registry.use_models({"small": FunctionModel(_stuck_looker)})
    with pytest.raises(RunError) as caught:
        await Dispatcher(registry, runs_dir=tmp_path).run("look")
    calls = kinds(caught.value.events, "model_call")
    assert len(calls) < 30, f"{len(calls)} model calls after the escalation was refused"
    if refusal == "quota":
        assert isinstance(caught.value, EscalationRefused)
    assert caught.value.trace_path is not None


async def test_a_blocking_sync_tool_is_bounded_by_its_timeout_and_never_stalls_the_loop(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def read_fifo() -> str:
        """Blocks: nobody writes to the pipe."""
        return fifo.read_text()

    blocking = Tool.from_function(read_fifo, timeout_s=0.5)
    executor = ToolExecutor(Tracer("r", []))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.05)
            ticks += 1

    threads_before = threading.active_count()
    started = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        execution = await executor.execute(
            ToolCall("c1", "read_fifo", "{}"),
            {"read_fifo": blocking},
            agent="a",
            step_index=1,
            parent_id=None,
        )
        group.cancel_scope.cancel()
    assert time.monotonic() - started < 3
    assert not execution.ok and "timed out" in execution.message.content
    assert ticks >= 5  # the loop kept running while the tool was stuck
    # Unblock the abandoned thread so it ends (O_NONBLOCK: the reader is still waiting).
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.write(writer, b"x")
    os.close(writer)
    # Poll a thread count (no event to wait on) until the abandoned thread has finished.
    for _ in range(500):
        if threading.active_count() <= threads_before + 1:
            break
        await anyio.sleep(0.01)


async def test_wall_s_cuts_a_silent_request_through_the_real_sdk(tmp_path: Path) -> None:
    """A server that accepts the request and never answers (no bytes, no stream)."""
    from reliability_harness import completion, wire_registry

    from dispatcher.testing import block_real_models

    answered = [completion("", ("d1", "looker", {"task": "look"}))]

    async def handler(request: httpx2.Request) -> httpx2.Response:
        if answered:
            return answered.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    started = time.monotonic()
    with block_real_models(False):
        async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as http:
            registry = wire_registry([LOOKER], http, dispatcher={"budgets": {"wall_s": 0.5}})
            with pytest.raises(BudgetExceeded) as caught:
                await Dispatcher(registry, runs_dir=tmp_path).run("look")
    assert time.monotonic() - started < 5
    assert caught.value.budget == "wall_s" and caught.value.trace_path is not None
