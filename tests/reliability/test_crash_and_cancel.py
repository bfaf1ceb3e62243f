"""Guarantee 11: a killed process leaves a trace that parses up to its last event.

(Cancelling a run mid-tool closes its trace with status `cancelled`:
tests/test_worker.py::test_cancelling_mid_tool_closes_the_trace_as_cancelled.)
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import jsonschema
import pytest
from reliability_harness import kinds, scripted_registry
from typer.testing import CliRunner

from dispatcher import Agent, Dispatcher, tool
from dispatcher.cli.app import _register_subcommands, app
from dispatcher.testing import tool_calls
from dispatcher.trace.events import event_json_schema
from dispatcher.trace.reader import read_trace

CHILD = Path(__file__).with_name("killed_run_child.py")


def _wait_for_line(process: subprocess.Popen[str], expected: str, timeout_s: float) -> None:
    """Block on the child's stdout (no polling) until it prints `expected`, bounded."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while selector.select(timeout=timeout_s):
            line = process.stdout.readline()
            if not line:
                break  # the child exited
            if line.strip() == expected:
                return
    process.kill()
    raise AssertionError(f"the child never printed {expected!r}: {process.stderr.read()}")  # type: ignore[union-attr]


def test_a_killed_run_leaves_a_trace_that_parses_up_to_its_last_event(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The child imports the shared test builders (tests/scenario.py) like pytest does.
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(CHILD.parents[1]), str(CHILD.parent)]),
        },
    )
    try:
        _wait_for_line(process, "TOOL_STARTED", timeout_s=60)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    (trace,) = tmp_path.glob("*.jsonl")
    events = read_trace(trace)
    assert events[0].kind == "run_started" and len(kinds(events, "model_call")) == 2
    assert "run_finished" not in {e.kind for e in events}  # nobody closed it
    last = events[-1]
    assert last.kind == "model_call" and last.tool_calls == ["block"]  # flushed before the tool
    schema = event_json_schema()
    for line in trace.read_text().splitlines():
        jsonschema.validate(json.loads(line), schema)
    # A kill in the middle of a write leaves half a line: the reader keeps everything before it.
    with trace.open("a") as file:
        file.write(trace.read_text().splitlines()[-1][:40])
    assert read_trace(trace) == events
    _register_subcommands()
    shown = CliRunner().invoke(app, ["trace", "show", str(trace)])
    assert shown.exit_code == 0, shown.output


started = anyio.Event()


@tool(timeout_s=None)
async def stuck() -> str:
    """Never returns."""
    started.set()
    await anyio.sleep_forever()
    return ""


@pytest.mark.anyio
async def test_cancelling_mid_tool_finishes_every_open_agent_as_cancelled(tmp_path: Path) -> None:
    global started
    started = anyio.Event()
    agent = Agent(name="stuckling", description="Gets stuck.", tools=[stuck], tier="weak")
    registry, _, _ = scripted_registry(
        [agent],
        small=[
            tool_calls(("stuckling", {"task": "t"}), agent="dispatcher"),
            tool_calls(("stuck", {}), agent="stuckling"),
        ],
    )
    async with anyio.create_task_group() as group:
        group.start_soon(Dispatcher(registry, runs_dir=tmp_path).run, "t")
        await started.wait()
        group.cancel_scope.cancel()
    (trace,) = tmp_path.glob("*.jsonl")
    events = read_trace(trace)
    finished = events[-1]
    assert finished.kind == "run_finished" and finished.status == "cancelled"
    (worker_done,) = [e for e in kinds(events, "agent_finished") if e.agent == "stuckling"]
    assert worker_done.status == "cancelled"
