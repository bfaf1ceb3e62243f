"""Model output is untrusted text: JSON may carry a lone surrogate ("\\ud800"), which no UTF-8
trace line, request body or answer can hold. It is replaced by U+FFFD where it enters the run,
so the run goes on and its trace stays readable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from reliability_harness import scripted_registry

from dispatcher import Agent, ConfigError, Dispatcher, tool
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.reader import read_trace

LONE = "\ud800"
seen: list[str] = []


@tool
def echo(text: str) -> str:
    """Echo the text back."""
    seen.append(text)
    return f"echo: {text}"


@tool
def junk() -> str:
    """Return text with a lone surrogate, as a careless tool might."""
    return "junk \udcff here"


ECHOER = Agent(name="echoer", description="Echoes.", tools=[echo, junk], tier="weak")
ROUTE = tool_calls(("echoer", {"task": "echo hi"}), agent="dispatcher")


@pytest.fixture(autouse=True)
def _fresh() -> None:
    seen.clear()


@pytest.mark.parametrize(
    "turns",
    [
        [ROUTE, reply(f"done {LONE}", agent="echoer"), reply("final", agent="dispatcher")],
        [reply(f"final {LONE}", agent="dispatcher")],
        [
            tool_calls(("echoer", {"task": f"echo {LONE}"}), agent="dispatcher"),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
        [
            ROUTE,
            tool_calls(("echo", {"text": f"hi {LONE}"}), agent="echoer"),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
        [
            ROUTE,
            tool_calls(("junk", {}), agent="echoer"),
            reply("done", agent="echoer"),
            reply("final", agent="dispatcher"),
        ],
    ],
    ids=["worker_text", "dispatcher_text", "route_arguments", "tool_arguments", "tool_output"],
)
def test_a_lone_surrogate_is_replaced_and_the_run_goes_on(tmp_path: Path, turns: list[Any]) -> None:
    registry, small, _ = scripted_registry([ECHOER], small=turns)
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("echo hi")
    small.assert_complete()
    assert result.status == "ok"
    assert result.answer is not None
    result.answer.encode("utf-8")
    for text in seen:
        assert LONE not in text and "\ufffd" in text
    assert result.trace_path is not None
    events = read_trace(result.trace_path)  # every line written and valid
    assert events[-1].kind == "run_finished"


def test_a_task_with_a_lone_surrogate_is_a_config_error(tmp_path: Path) -> None:
    registry, _, _ = scripted_registry([ECHOER], small=[])
    with pytest.raises(ConfigError, match="surrogate"):
        Dispatcher(registry, runs_dir=tmp_path).run_sync(f"echo {LONE}")
