"""Guarantee 9: a raising tool is an error result; a hanging tool is cancelled at its timeout and
leaves no task, thread or process behind; a 10 MB output is truncated, the full text kept."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from dispatcher_tools.workspace import WorkspaceToolkit
from reliability_harness import kinds, scripted_registry

from dispatcher import Agent, Dispatcher, Tool, tool
from dispatcher.testing import reply, tool_calls

pytestmark = pytest.mark.anyio


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll observable state (process exit and reaping are asynchronous), bounded."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def processes_with(marker: str) -> list[int]:
    """Live pids whose command line contains `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def children() -> set[int]:
    """Pids whose parent is this process, zombies included (an unreaped child is a leak)."""
    found = set()
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # The command name may hold spaces or parentheses: fields follow the last ')'.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == me:
                found.add(int(entry))
    return found


hang_started = anyio.Event()


@tool(timeout_s=0.2)
async def wait_for_reply() -> str:
    """Waits for an answer that never comes."""
    hang_started.set()
    await anyio.sleep_forever()
    return ""


@tool
def flaky() -> str:
    """Fails."""
    raise ConnectionError("upstream reset the connection")


def helper(*tools: Tool) -> Agent:
    return Agent(name="helper", description="Helps.", tools=list(tools), tier="weak")


def delegate() -> object:
    return tool_calls(("helper", {"task": "help"}), agent="dispatcher")


async def test_a_raising_tool_becomes_an_error_result_and_the_run_goes_on(tmp_path: Path) -> None:
    registry, small, _ = scripted_registry(
        [helper(flaky)],
        small=[
            delegate(),
            tool_calls(("flaky", {}), agent="helper"),
            reply("it failed, reporting that", agent="helper"),
            reply("The upstream is down.", agent="dispatcher"),
        ],
    )
    result = await Dispatcher(registry, runs_dir=tmp_path).run("help")
    small.assert_complete()
    (event,) = kinds(result.events, "tool_call")
    assert not event.ok and event.error_kind == "raised"
    assert "ConnectionError: upstream reset the connection" in event.output
    assert result.answer == "The upstream is down."


async def test_a_hanging_tool_is_cancelled_at_its_timeout_without_leaking_a_task(
    tmp_path: Path,
) -> None:
    global hang_started
    hang_started = anyio.Event()
    registry, small, _ = scripted_registry(
        [helper(wait_for_reply)],
        small=[
            delegate(),
            tool_calls(("wait_for_reply", {}), agent="helper"),
            reply("no reply came", agent="helper"),
            reply("No reply.", agent="dispatcher"),
        ],
    )
    tasks_before = asyncio.all_tasks()
    threads_before = threading.active_count()
    started = time.monotonic()
    result = await Dispatcher(registry, runs_dir=tmp_path).run("help")
    assert time.monotonic() - started < 2
    small.assert_complete()
    assert hang_started.is_set()
    (event,) = kinds(result.events, "tool_call")
    assert event.error_kind == "timeout" and "timed out after 0.2s" in event.output
    assert asyncio.all_tasks() == tasks_before
    assert threading.active_count() <= threads_before  # idle pool threads may exit meanwhile


async def test_a_hanging_command_is_killed_at_the_tool_timeout_leaving_no_process_or_thread(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    toolkit = WorkspaceToolkit(root, command_timeout_s=60)
    (run_command,) = [t for t in toolkit.tools() if t.name == "workspace.run_command"]
    # The executor's timeout (1 s) fires long before the sandbox's own (60 s).
    run_command = dataclasses.replace(run_command, timeout_s=1.0)
    marker = f"98761.{os.getpid()}"
    registry, small, _ = scripted_registry(
        [helper(run_command)],
        small=[
            delegate(),
            tool_calls(("workspace_run_command", {"command": "true"}), agent="helper"),
            tool_calls(
                ("workspace_run_command", {"command": f"sleep {marker}; touch after.txt"}),
                agent="helper",
            ),
            reply("it hung", agent="helper"),
            reply("The command hung.", agent="dispatcher"),
        ],
    )
    # Warm up the worker-thread pool with the quick command first: a pooled idle thread is
    # reused, not leaked. Measured from the moment the quick command has finished.
    children_before = children()
    baseline: dict[str, int] = {}

    original = run_command.function

    async def measured(command: str) -> object:
        if "sleep" in command:
            baseline["threads"] = threading.active_count()
            baseline["tasks"] = len(asyncio.all_tasks())
        return await original(command=command)

    registry.agents["helper"].tools = [dataclasses.replace(run_command, function=measured)]
    started = time.monotonic()
    result = await Dispatcher(registry, runs_dir=tmp_path).run("run it")
    assert time.monotonic() - started < 10
    small.assert_complete()
    hung = kinds(result.events, "tool_call")[-1]
    assert hung.error_kind == "timeout"
    assert wait_until(lambda: not processes_with(marker)), "the command outlived its timeout"
    assert wait_until(lambda: children() <= children_before), "a child process was left"
    assert wait_until(lambda: threading.active_count() <= baseline["threads"]), [
        t.name for t in threading.enumerate()
    ]
    assert len(asyncio.all_tasks()) <= baseline["tasks"]
    assert not (root / "after.txt").exists()


async def test_a_10_mb_output_enters_the_context_truncated_with_the_full_text_kept(
    tmp_path: Path,
) -> None:
    @tool
    def dump() -> str:
        """A huge output."""
        return "log line 42\n" * 875_000 + "the end\n"  # 10.5 MB

    registry, small, _ = scripted_registry(
        [helper(dump)],
        small=[
            delegate(),
            tool_calls(("dump", {}), agent="helper"),
            reply("it is long", agent="helper"),
            reply("Long.", agent="dispatcher"),
        ],
    )
    result = await Dispatcher(registry, runs_dir=tmp_path).run("dump")
    worker = [r for r in small.requests if r.metadata.get("agent") == "helper"]
    seen = str(worker[-1].messages[-1])
    assert len(seen) < 20_000 and "characters truncated" in seen
    (event,) = kinds(result.events, "tool_call")
    size = 12 * 875_000 + 8
    assert event.output_bytes == size
    (saved,) = (tmp_path / f"{result.run_id}.artifacts").glob("*.txt")
    assert str(saved) in seen
    text = saved.read_text()
    assert len(text) == size and text.endswith("log line 42\nthe end\n")
