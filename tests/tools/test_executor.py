"""Nothing a model sends can crash a run; results are cached per call id."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from dispatcher import ToolOutput, tool
from dispatcher.errors import ConfigError, ToolErrorCapExceeded
from dispatcher.messages import ToolCall
from dispatcher.tools.executor import ToolExecutor, ToolLimits, tool_index
from dispatcher.trace.events import ToolCallEvent
from dispatcher.trace.sink import MemoryTraceSink
from dispatcher.trace.tracer import Tracer

calls: list[int] = []


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    calls.append(a + b)
    return a + b


@tool
def explode() -> str:
    """Always fails."""
    raise RuntimeError("boom with key sk-ant-abcdefghijklmnop1234")


@tool(timeout_s=0.05)
async def hang() -> str:
    """Never returns."""
    await anyio.sleep_forever()
    return ""


@tool
def big() -> ToolOutput:
    """A huge output."""
    return ToolOutput("x" * 10_000_000, signals={"state_changed": False})


TOOLS = tool_index([add, explode, hang, big])


def _executor(tmp_path: Path | None = None, cap: int = 8) -> tuple[ToolExecutor, MemoryTraceSink]:
    sink = MemoryTraceSink()
    return (
        ToolExecutor(
            Tracer("run", [sink]),
            limits=ToolLimits(max_invalid_calls=cap, max_output_chars=1000),
            artifacts_dir=tmp_path,
        ),
        sink,
    )


async def _run(executor: ToolExecutor, call: ToolCall):  # type: ignore[no-untyped-def]
    return await executor.execute(call, TOOLS, agent="a", step_index=1, parent_id=None)


@pytest.mark.anyio
async def test_valid_call_runs_and_is_traced() -> None:
    executor, sink = _executor()
    result = await _run(executor, ToolCall("c1", "add", '{"a": 2, "b": 3}'))
    assert result.ok and result.message.content == "5"
    assert result.step.action == 'add({"a": 2, "b": 3})'
    event = sink.events[-1]
    assert isinstance(event, ToolCallEvent) and event.ok and event.arguments == {"a": 2, "b": 3}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("call", "kind", "fragment"),
    [
        (ToolCall("c", "add", '{"a": 2,'), "invalid_json", "not valid JSON"),
        (ToolCall("c", "nope", "{}"), "unknown_tool", "no tool named 'nope'"),
        (ToolCall("c", "add", '{"a": "2", "b": 3}'), "invalid_arguments", "a: '2' is not of type"),
        (ToolCall("c", "add", "[1, 2]"), "invalid_arguments", "JSON object"),
    ],
)
async def test_bad_calls_become_tool_errors_and_never_execute(
    call: ToolCall, kind: str, fragment: str
) -> None:
    executor, sink = _executor()
    before = len(calls)
    result = await _run(executor, call)
    assert not result.ok and result.message.is_error
    assert fragment in result.message.content
    assert len(calls) == before
    event = sink.events[-1]
    assert isinstance(event, ToolCallEvent) and event.error_kind == kind


@pytest.mark.anyio
async def test_invalid_calls_share_one_cap_per_run() -> None:
    executor, _ = _executor(cap=3)
    for i in range(3):
        await _run(executor, ToolCall(f"c{i}", f"unknown_{i}", "{}"))
    with pytest.raises(ToolErrorCapExceeded) as info:
        await _run(executor, ToolCall("c9", "add", "{bad"))
    assert info.value.events  # carries the partial trace


@pytest.mark.anyio
async def test_a_raising_tool_is_an_error_result_with_secrets_redacted() -> None:
    executor, _ = _executor()
    result = await _run(executor, ToolCall("c1", "explode", "{}"))
    assert not result.ok and "RuntimeError: boom" in result.message.content
    assert "sk-ant-" not in result.message.content


@pytest.mark.anyio
async def test_a_hanging_tool_is_cancelled_at_its_timeout() -> None:
    executor, sink = _executor()
    result = await _run(executor, ToolCall("c1", "hang", "{}"))
    assert not result.ok and "timed out" in result.message.content
    event = sink.events[-1]
    assert isinstance(event, ToolCallEvent) and event.error_kind == "timeout"


@pytest.mark.anyio
async def test_huge_output_is_truncated_and_kept_out_of_band(tmp_path: Path) -> None:
    executor, sink = _executor(tmp_path)
    result = await _run(executor, ToolCall("c1", "big", "{}"))
    assert len(result.message.content) < 2000
    assert "characters truncated" in result.message.content
    saved = next(tmp_path.glob("*.txt"))
    assert saved.stat().st_size == 10_000_000
    assert result.step.signals == {"state_changed": False}
    event = sink.events[-1]
    assert isinstance(event, ToolCallEvent) and event.output_bytes == 10_000_000


@pytest.mark.anyio
async def test_a_repeated_call_id_does_not_repeat_the_side_effect() -> None:
    executor, sink = _executor()
    before = len(calls)
    first = await _run(executor, ToolCall("same", "add", '{"a": 1, "b": 1}'))
    second = await _run(executor, ToolCall("same", "add", '{"a": 1, "b": 1}'))
    assert len(calls) == before + 1
    assert second.message == first.message
    event = sink.events[-1]
    assert isinstance(event, ToolCallEvent) and event.cached


@pytest.mark.parametrize(
    "made",
    [
        lambda: ToolOutput(5),  # type: ignore[arg-type]
        lambda: ToolOutput(None),  # type: ignore[arg-type]
        lambda: ToolOutput(b"rows"),  # type: ignore[arg-type]
        lambda: ToolOutput("ok", signals="state_changed"),  # type: ignore[arg-type]
    ],
    ids=["int", "none", "bytes", "signals_text"],
)
def test_a_tool_output_of_the_wrong_shape_is_refused_where_it_is_made(made: object) -> None:
    # Before: accepted, then a TypeError/ValueError out of the executor ended the whole run.
    with pytest.raises(ConfigError) as caught:
        made()  # type: ignore[operator]
    assert caught.value.fix


@pytest.mark.anyio
async def test_a_tool_returning_a_bad_tool_output_is_a_tool_error_not_a_crash() -> None:
    @tool
    def sloppy() -> ToolOutput:
        """Returns a number where text belongs."""
        return ToolOutput(42)  # type: ignore[arg-type]

    executor, _ = _executor()
    result = await executor.execute(
        ToolCall("c1", "sloppy", "{}"),
        tool_index([sloppy]),
        agent="a",
        step_index=1,
        parent_id=None,
    )
    assert not result.ok and "ToolOutput" in result.message.content
