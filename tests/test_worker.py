"""The worker loop: budgets, pricing, cancellation, and detectors that stay quiet on progress."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from scenario import registry

from dispatcher import Agent, Dispatcher, ToolOutput, tool
from dispatcher.errors import BudgetExceeded
from dispatcher.messages import ModelResponse, Usage
from dispatcher.registry.config import parse_registry_config
from dispatcher.registry.registry import Registry
from dispatcher.testing import ScriptedModel, reply, tool_calls

files: dict[str, str] = {}
failing = {"count": 5}


@tool
def write_file(path: str, content: str) -> ToolOutput:
    """Write a file."""
    files[path] = content
    return ToolOutput(f"wrote {len(content)} bytes to {path}", signals={"state_changed": True})


@tool
def run_tests() -> ToolOutput:
    """Run the test suite."""
    failing["count"] = max(0, failing["count"] - 1)
    passed = 10 - failing["count"]
    return ToolOutput(
        f"{passed} passed, {failing['count']} failed",
        is_error=failing["count"] > 0,
        signals={"tests_failed": failing["count"], "tests_passed": passed},
    )


CODER = Agent(name="coder", description="Edits code.", tools=[write_file, run_tests], tier="weak")


def test_a_progressing_30_step_run_with_batch_edits_and_test_reruns_fires_no_detector() -> None:
    failing["count"] = 6
    steps = []
    # batch edits across files
    steps += [
        tool_calls(("write_file", {"path": f"pkg/m{i}.py", "content": f"x = {i}"}), agent="coder")
        for i in range(8)
    ]
    for round_ in range(6):
        # incremental edits to one file, then re-run the tests
        for j in range(2):
            content = f"def f():\n    return {round_ * 10 + j}\n"
            steps.append(
                tool_calls(
                    ("write_file", {"path": "pkg/core.py", "content": content}), agent="coder"
                )
            )
        steps.append(tool_calls(("run_tests", {}), agent="coder"))
    for k in range(2):  # clean-ups, each followed by a test re-run
        content = f"# cleanup {k}\n"
        steps.append(
            tool_calls(("write_file", {"path": "README.md", "content": content}), agent="coder")
        )
        steps.append(tool_calls(("run_tests", {}), agent="coder"))
    assert len(steps) == 30
    reg, small, _ = registry(
        [CODER],
        small=[
            tool_calls(("coder", {"task": "make the tests pass"}), agent="dispatcher"),
            *steps,
            reply("all green", agent="coder"),
            reply("done", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg).run_sync("make the tests pass")
    small.assert_complete()
    assert [e for e in result.events if e.kind == "detector"] == []
    assert sum(1 for e in result.events if e.kind == "tool_call") == 30


def test_usd_budget_stops_before_the_request_that_would_overrun() -> None:
    step = tool_calls(("run_tests", {}), agent="coder")
    reg, small, _ = registry(
        [CODER],
        small=[tool_calls(("coder", {"task": "t"}), agent="dispatcher"), *[step] * 50],
        dispatcher={
            "budgets": {"usd": 0.0005},
            "prices": {
                "small": {"input": 1.0, "output": 1.0},
                "strong": {"input": 3.0, "output": 15.0},
            },
        },
    )
    with pytest.raises(BudgetExceeded) as info:
        Dispatcher(reg).run_sync("t")
    assert info.value.budget == "usd"
    finished = info.value.events[-1]
    assert finished.kind == "run_finished" and finished.status == "budget_exceeded"  # type: ignore[union-attr]
    # Spend never exceeds the limit by more than one request.
    costs = [e.cost_usd for e in info.value.events if e.kind == "model_call"]  # type: ignore[attr-defined]
    assert sum(costs[:-1]) < 0.0005 <= sum(costs)


def test_an_unpriced_model_is_reported_as_unpriced_not_free(tmp_path: Path) -> None:
    config = parse_registry_config(
        {
            "model_list": [{"model_name": "local", "litellm_params": {"model": "openai/llama"}}],
            "dispatcher": {"tiers": {"weak": "local"}},
        }
    )
    reg = Registry(config)
    reg.register(Agent(name="solo", description="Does it.", tier="weak"))
    reg.use_models(
        {
            "local": ScriptedModel(
                [
                    tool_calls(("solo", {"task": "t"}), agent="dispatcher"),
                    reply("ok", agent="solo"),
                    reply("ok", agent="dispatcher"),
                ]
            )
        }
    )
    result = Dispatcher(reg, runs_dir=tmp_path).run_sync("t")
    assert result.cost_usd is None and result.counterfactual_cost_usd is None
    finished = json.loads(Path(str(result.trace_path)).read_text().splitlines()[-1])
    assert finished["cost_usd"] is None and finished["unpriced_models"] == ["local"]
    calls = [e for e in result.events if e.kind == "model_call"]
    assert all(c.unpriced and c.cost_usd is None for c in calls)  # type: ignore[attr-defined]


started = anyio.Event()


@tool
async def slow() -> str:
    """Takes forever."""
    started.set()
    await anyio.sleep_forever()
    return ""


@pytest.mark.anyio
async def test_cancelling_mid_tool_closes_the_trace_as_cancelled(tmp_path: Path) -> None:
    global started
    started = anyio.Event()
    agent = Agent(name="slowpoke", description="Slow.", tools=[slow], tier="weak")
    reg, _, _ = registry(
        [agent],
        small=[
            tool_calls(("slowpoke", {"task": "t"}), agent="dispatcher"),
            tool_calls(("slow", {}), agent="slowpoke"),
        ],
    )
    dispatcher = Dispatcher(reg, runs_dir=tmp_path)
    async with anyio.create_task_group() as group:
        group.start_soon(dispatcher.run, "t")
        await started.wait()
        group.cancel_scope.cancel()
    (trace,) = tmp_path.glob("*.jsonl")
    last = json.loads(trace.read_text().splitlines()[-1])
    assert last["kind"] == "run_finished" and last["status"] == "cancelled"


@pytest.mark.parametrize(
    "usage",
    [
        Usage(input_tokens=-10_000_000, output_tokens=10),  # a server's bogus count
        Usage(input_tokens=100, output_tokens=10, cached_input_tokens=10_000_000),
    ],
)
def test_token_counts_a_server_reports_can_never_make_a_call_cost_less_than_nothing(
    usage: Usage,
) -> None:
    # Model output is untrusted: a negative count (or more cached tokens than input tokens)
    # priced a call below $0, crediting the run's usd budget so it never ran out.
    from dataclasses import replace

    step = tool_calls(("run_tests", {}), agent="coder")
    reg, _, _ = registry(
        [CODER],
        small=[
            tool_calls(("coder", {"task": "t"}), agent="dispatcher"),
            replace(step, usage=usage),
            *[step] * 50,
        ],
        dispatcher={
            "budgets": {"usd": 0.0005},
            "prices": {
                "small": {"input": 1.0, "output": 1.0, "cached_input": 0.5},
                "strong": {"input": 3.0, "output": 15.0},
            },
        },
    )
    with pytest.raises(BudgetExceeded) as info:
        Dispatcher(reg).run_sync("t")
    costs = [e.cost_usd for e in info.value.events if e.kind == "model_call"]  # type: ignore[attr-defined]
    assert all(cost >= 0 for cost in costs)
    assert sum(costs[:-1]) < 0.0005 <= sum(costs)
    calls = [e for e in info.value.events if e.kind == "model_call"]
    assert all(c.input_tokens >= c.cached_input_tokens >= 0 for c in calls)  # type: ignore[attr-defined]


class _ReturnsAnything:
    """A user's own Model whose answer has the wrong shape."""

    model_id = "custom"

    def __init__(self, value: object) -> None:
        self.value = value

    async def request(self, request: object) -> object:
        return self.value


@pytest.mark.parametrize(
    "value",
    [
        "plain text",
        None,
        ModelResponse(text=None),  # type: ignore[arg-type]
        ModelResponse(text="", tool_calls=({"name": "helper"},)),  # type: ignore[arg-type]
        ModelResponse(text="hi", usage=None),  # type: ignore[arg-type]
        ModelResponse(text="hi", usage=Usage(1.5, 2.5)),  # type: ignore[arg-type]
    ],
    ids=["str", "none", "text_none", "call_dicts", "usage_none", "usage_floats"],
)
def test_a_custom_model_answering_in_the_wrong_shape_is_a_model_error_naming_it(
    tmp_path: Path, value: object
) -> None:
    # Before: AttributeError/TypeError deep in the run; float token counts were even written
    # to the trace, which then could not be read back.
    from dispatcher.errors import ModelError
    from dispatcher.trace.reader import read_trace

    config = parse_registry_config(
        {
            "model_list": [{"model_name": "small", "litellm_params": {"model": "openai/x"}}],
            "dispatcher": {"tiers": {"weak": "small"}},
        }
    )
    reg = Registry(config)
    reg.register(Agent(name="helper", description="Helps.", tier="weak"))
    reg.use_models({"small": _ReturnsAnything(value)})  # type: ignore[dict-item]
    with pytest.raises(ModelError, match=r"model 'small'.*ModelResponse") as caught:
        Dispatcher(reg, runs_dir=tmp_path).run_sync("t")
    trace = getattr(caught.value, "trace_path", None)
    assert trace is not None and read_trace(trace)[-1].kind == "run_finished"
