"""A run is never `ok` when a gate or the agent's own latest check contradicts its answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario import registry

from dispatcher import Agent, Dispatcher, GateResult, RunError, ToolOutput, tool
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.reader import read_trace

runs: list[bool] = []


@tool
def run_tests() -> ToolOutput:
    """Run the project's tests."""
    passed = bool(runs and runs.pop(0))
    if passed:
        return ToolOutput("5 passed", signals={"tests_passed": 5, "tests_failed": 0})
    return ToolOutput(
        "/usr/bin/python: No module named pytest",
        is_error=True,
        signals={"tests_passed": 0, "tests_failed": 0, "exit_code": 1},
    )


class NeverPasses:
    name = "never"

    async def __call__(self, answer: str) -> GateResult:
        return GateResult(False, "the tests do not pass")


def _dispatch(*worker_turns: object) -> list[object]:
    return [
        tool_calls(("coder", {"task": "fix it"}), agent="dispatcher"),
        *worker_turns,
        reply("Fixed; the whole test suite passes.", agent="dispatcher"),
    ]


def _status(exc: RunError) -> str:
    assert exc.trace_path is not None
    return str(read_trace(exc.trace_path)[-1].status)  # type: ignore[attr-defined]


def test_an_answer_after_a_failed_test_run_fails_the_run(tmp_path: Path) -> None:
    runs[:] = [False]
    coder = Agent(name="coder", description="Fixes code.", tools=[run_tests], tier="weak")
    reg, _, _ = registry(
        [coder],
        small=_dispatch(
            tool_calls(("run_tests", {}), agent="coder"),
            reply("All tests pass.", agent="coder"),
        ),
    )
    with pytest.raises(RunError, match="latest check failed") as caught:
        Dispatcher(reg, runs_dir=tmp_path).run_sync("fix it")
    assert "No module named pytest" in str(caught.value)
    assert _status(caught.value) == "error"


def test_an_answer_after_a_passing_test_run_is_ok(tmp_path: Path) -> None:
    runs[:] = [False, True]
    coder = Agent(name="coder", description="Fixes code.", tools=[run_tests], tier="weak")
    reg, small, _ = registry(
        [coder],
        small=_dispatch(
            tool_calls(("run_tests", {}), agent="coder"),
            tool_calls(("run_tests", {}), agent="coder"),
            reply("All tests pass.", agent="coder"),
        ),
    )
    result = Dispatcher(reg, runs_dir=tmp_path).run_sync("fix it")
    small.assert_complete()
    assert result.status == "ok"


@pytest.mark.parametrize(
    "escalation", [{"enabled": False}, {"quota": 0}], ids=["no-escalation", "refused"]
)
def test_a_failed_gate_that_cannot_escalate_fails_the_run(
    escalation: dict[str, object], tmp_path: Path
) -> None:
    coder = Agent(
        name="coder",
        description="Fixes code.",
        tools=[run_tests],
        tier="weak",
        gate=NeverPasses(),
        escalation=escalation,
    )
    reg, _, _ = registry([coder], small=_dispatch(reply("Done.", agent="coder")))
    with pytest.raises(RunError, match="failed its validation gate never") as caught:
        Dispatcher(reg, runs_dir=tmp_path).run_sync("fix it")
    assert _status(caught.value) == "error"
