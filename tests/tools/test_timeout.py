"""A tool's timeout: no cost when the call never waits, the usual semantics when it does."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from dispatcher.tools._timeout import await_with_timeout


async def _immediate() -> str:
    return "done"


@pytest.mark.anyio
async def test_a_call_that_never_waits_returns_its_value() -> None:
    # A deadline can only fire at an await point; this call has none.
    assert await await_with_timeout(_immediate(), 0.0) == "done"


@pytest.mark.anyio
async def test_a_call_still_waiting_at_the_deadline_times_out() -> None:
    cleaned_up = anyio.Event()

    async def hang() -> str:
        try:
            await anyio.sleep_forever()
        finally:
            cleaned_up.set()
        return ""

    with pytest.raises(TimeoutError):
        await await_with_timeout(hang(), 0.01)
    assert cleaned_up.is_set()


@pytest.mark.anyio
async def test_a_waiting_call_gets_what_it_awaits_and_returns() -> None:
    send, receive = anyio.create_memory_object_stream[int](1)

    async def consume() -> int:
        total = 0
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
            total += await receive.receive()
        return total

    async with anyio.create_task_group() as group:

        async def produce() -> None:
            for value in (1, 2, 3):
                await send.send(value)

        group.start_soon(produce)
        assert await await_with_timeout(consume(), 5.0) == 6


@pytest.mark.anyio
async def test_an_error_after_waiting_propagates() -> None:
    async def fail() -> None:
        await anyio.lowlevel.checkpoint()
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        await await_with_timeout(fail(), 5.0)


@pytest.mark.anyio
async def test_cancelling_the_caller_cancels_the_waiting_call() -> None:
    started = anyio.Event()
    cancelled = anyio.Event()

    async def wait() -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise

    async with anyio.create_task_group() as group:

        async def call() -> None:
            await await_with_timeout(wait(), 60.0)

        group.start_soon(call)
        await started.wait()
        group.cancel_scope.cancel()
    assert cancelled.is_set()


@pytest.mark.anyio
async def test_scopes_the_call_opens_nest_inside_the_timeout() -> None:
    async def with_own_scopes() -> str:
        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(anyio.lowlevel.checkpoint)
                await anyio.lowlevel.checkpoint()
        return "ok"

    assert await await_with_timeout(with_own_scopes(), 5.0) == "ok"


@pytest.mark.anyio
async def test_the_deadline_counts_from_the_start_of_the_call() -> None:
    async def slow_start_then_wait() -> None:
        started = anyio.current_time()
        while anyio.current_time() - started < 0.02:  # busy, never yields
            pass
        await anyio.sleep_forever()

    with pytest.raises(TimeoutError):
        await await_with_timeout(slow_start_then_wait(), 0.01)


@pytest.mark.anyio
async def test_a_sync_tool_past_its_timeout_is_cut_at_its_timeout() -> None:
    # Sync tools run in a worker thread (issue 13: blocking work never holds the event loop),
    # so the timeout bounds them too; before, they ran inline and could not be interrupted.
    import threading

    from dispatcher import tool
    from dispatcher.messages import ToolCall
    from dispatcher.tools.executor import ToolExecutor, tool_index
    from dispatcher.trace.sink import MemoryTraceSink
    from dispatcher.trace.tracer import Tracer

    release = threading.Event()

    @tool(timeout_s=0.05)
    def busy() -> str:
        """Works much longer than its timeout."""
        release.wait(10)
        return "finished"

    executor = ToolExecutor(Tracer("r", [MemoryTraceSink()]))
    started = anyio.current_time()
    result = await executor.execute(
        ToolCall("c1", "busy", "{}"), tool_index([busy]), agent="a", step_index=1, parent_id=None
    )
    release.set()
    assert anyio.current_time() - started < 2
    assert not result.ok and "timed out after 0.05s" in result.message.content
