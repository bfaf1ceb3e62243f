"""Escalation end to end with scripted models: every trigger, every mode, every bound."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from scenario import registry
from typer.testing import CliRunner

from dispatcher import Agent, Dispatcher, GateResult, ToolOutput, tool
from dispatcher.cli.app import _register_subcommands, app
from dispatcher.errors import ConfigError, ToolErrorCapExceeded
from dispatcher.testing import reply, tool_calls
from dispatcher.trace.events import event_json_schema

lookups: list[str] = []


@tool
def lookup(key: str) -> ToolOutput:
    """Look up a value by key."""
    lookups.append(key)
    if key == "right":
        return ToolOutput("value=42")
    return ToolOutput(f"Error: no such key {key!r}", is_error=True)


WORKER = Agent(name="worker", description="Looks things up.", tools=[lookup], tier="weak")


def dispatch(task: str = "find the value") -> list[object]:
    """The dispatcher's turns that delegate `task` to the worker, then answer."""
    return [
        tool_calls(("worker", {"task": task}), agent="dispatcher"),
        reply("The value is 42.", agent="dispatcher"),
    ]


def wrong(n: int) -> list[object]:
    return [tool_calls(("lookup", {"key": "wrong"}), agent="worker") for _ in range(n)]


def advice(text: str = "use key 'right'") -> object:
    return tool_calls(("overwatch_decision", {"mode": "advise", "guidance": text}))


def kinds(result: object, kind: str) -> list[dict[str, object]]:
    return [e.model_dump() for e in result.events if e.kind == kind]  # type: ignore[attr-defined]


def assert_trace_valid(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(event_json_schema())
    for line in path.read_text().splitlines():
        validator.validate(json.loads(line))


def test_loop_detector_nudges_then_escalates_and_advice_unblocks_the_worker() -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[
            dispatch()[0],
            *wrong(3),  # failing repeat #3 -> first firing -> nudge
            *wrong(3),  # fires again -> escalation
            tool_calls(("lookup", {"key": "right"}), agent="worker"),
            reply("42", agent="worker"),
            dispatch()[1],
        ],
        strong=[advice()],
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    strong.assert_complete()
    detectors = kinds(result, "detector")
    assert [d["action"] for d in detectors] == ["nudge", "escalate"]
    (episode,) = kinds(result, "escalation")
    assert episode["trigger"] == "detector" and episode["mode"] == "advise"
    assert episode["outcome"] == "advised" and episode["cost_usd"] > 0
    assert result.answer == "The value is 42."
    assert result.cost_usd is not None and result.counterfactual_cost_usd is not None
    assert result.cost_usd < result.counterfactual_cost_usd
    assert result.trace_path is not None
    assert_trace_valid(result.trace_path)
    # The advice reached the worker inside its next tool result.
    worker_requests = [r for r in small.requests if r.metadata.get("agent") == "worker"]
    assert any("use key 'right'" in str(r.messages[-1]) for r in worker_requests)


def test_worker_escalates_by_itself_and_gets_a_compact_brief() -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[
            dispatch()[0],
            *wrong(1),
            tool_calls(
                ("escalate", {"reason": "key unknown", "question": "which key?", "tried": "wrong"}),
                agent="worker",
            ),
            tool_calls(("lookup", {"key": "right"}), agent="worker"),
            reply("42", agent="worker"),
            dispatch()[1],
        ],
        strong=[advice()],
    )
    result = Dispatcher(reg).run_sync("find the value")
    strong.assert_complete()
    (episode,) = kinds(result, "escalation")
    assert episode["trigger"] == "self" and episode["question"] == "which key?"
    brief = strong.requests[0].messages[0].content  # type: ignore[union-attr]
    assert "which key?" in brief and "lookup" in brief and "Already tried: wrong" in brief
    assert len(strong.requests[0].messages) == 1  # a brief, not the whole conversation


def test_overwatch_takes_over_and_finishes_with_the_workers_tools() -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[
            dispatch()[0],
            tool_calls(("escalate", {"reason": "stuck", "question": "help"}), agent="worker"),
            dispatch()[1],
        ],
        strong=[
            tool_calls(("overwatch_decision", {"mode": "take_over", "guidance": "I will do it"})),
            tool_calls(("lookup", {"key": "right"})),
            reply("42"),
        ],
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    strong.assert_complete()
    (episode,) = kinds(result, "escalation")
    assert episode["mode"] == "take_over" and episode["outcome"] == "took_over"
    tool_events = kinds(result, "tool_call")
    assert tool_events[-1]["agent"] == "worker-overwatch" and tool_events[-1]["ok"]
    worker_done = [e for e in kinds(result, "agent_finished") if e["agent"] == "worker"]
    assert worker_done[0]["output"] == "42"


def test_hand_back_runs_one_overwatch_step_then_the_worker_continues() -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[
            dispatch()[0],
            tool_calls(("escalate", {"reason": "stuck", "question": "help"}), agent="worker"),
            reply("42", agent="worker"),
            dispatch()[1],
        ],
        strong=[
            tool_calls(("overwatch_decision", {"mode": "hand_back", "guidance": "look it up"})),
            tool_calls(("lookup", {"key": "right"})),
        ],
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    strong.assert_complete()
    (episode,) = kinds(result, "escalation")
    assert episode["outcome"] == "handed_back"
    last_worker_request = [r for r in small.requests if r.metadata.get("agent") == "worker"][-1]
    assert "value=42" in str(last_worker_request.messages[-1])


def test_quota_exhausted_refuses_and_is_recorded() -> None:
    agent = Agent(
        name="worker",
        description="Looks things up.",
        tools=[lookup],
        tier="weak",
        escalation={"quota": 1},
    )
    ask = tool_calls(("escalate", {"reason": "stuck", "question": "help"}), agent="worker")
    reg, small, strong = registry(
        [agent],
        small=[dispatch()[0], ask, ask, reply("gave up", agent="worker"), dispatch()[1]],
        strong=[advice()],
    )
    result = Dispatcher(reg).run_sync("find the value")
    strong.assert_complete()
    episodes = kinds(result, "escalation")
    assert [e["outcome"] for e in episodes] == ["advised", "refused"]
    assert "quota" in str(episodes[1]["refused_because"])
    assert episodes[1]["back_to_back"] == 1  # asked again right after the first episode


def test_escalation_that_would_overrun_the_budget_is_refused() -> None:
    ask = tool_calls(("escalate", {"reason": "stuck", "question": "help"}), agent="worker")
    reg, small, strong = registry(
        [WORKER],
        small=[dispatch()[0], ask, reply("done alone", agent="worker"), dispatch()[1]],
        dispatcher={"budgets": {"usd": 0.0015}},
    )
    result = Dispatcher(reg).run_sync("find the value")
    strong.assert_complete()  # the overwatch was never called
    (episode,) = kinds(result, "escalation")
    assert episode["outcome"] == "refused" and "budget" in str(episode["refused_because"])


def test_trace_show_highlights_the_episode_with_its_cost(tmp_path: Path) -> None:
    reg, _, _ = registry(
        [WORKER],
        small=[
            dispatch()[0],
            tool_calls(
                ("escalate", {"reason": "key unknown", "question": "which?"}), agent="worker"
            ),
            reply("42", agent="worker"),
            dispatch()[1],
        ],
        strong=[advice()],
    )
    result = Dispatcher(reg, runs_dir=tmp_path).run_sync("find the value")
    _register_subcommands()
    shown = CliRunner().invoke(app, ["trace", "show", result.run_id, "--runs-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "ESCALATION" in shown.output and "key unknown" in shown.output
    assert "cost $0.0" in shown.output and "then:" in shown.output
    stats = CliRunner().invoke(app, ["trace", "stats", "--runs-dir", str(tmp_path), "--json"])
    data = json.loads(stats.output)
    assert data["escalations_by_trigger"] == {"self": 1}
    assert data["cost_usd"] < data["counterfactual_cost_usd"]


class NeedsFortyTwo:
    """A gate that accepts only answers containing 42."""

    name = "needs_42"

    async def __call__(self, answer: str) -> GateResult:
        return GateResult("42" in answer, "the answer must contain the value 42")


def test_a_failing_gate_escalates_and_the_worker_answers_again() -> None:
    agent = Agent(
        name="worker",
        description="Looks things up.",
        tools=[lookup],
        tier="weak",
        gate=NeedsFortyTwo(),
    )
    reg, small, strong = registry(
        [agent],
        small=[
            dispatch()[0],
            reply("no idea", agent="worker"),
            reply("42", agent="worker"),
            dispatch()[1],
        ],
        strong=[advice("the value is 42")],
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    strong.assert_complete()
    (episode,) = kinds(result, "escalation")
    assert episode["trigger"] == "gate" and "needs_42" in str(episode["reason"])
    worker_done = [e for e in kinds(result, "agent_finished") if e["agent"] == "worker"]
    assert worker_done[0]["output"] == "42"


def test_running_out_of_own_turns_hands_the_task_to_the_overwatch() -> None:
    agent = Agent(
        name="worker",
        description="Looks things up.",
        tools=[lookup],
        tier="weak",
        budgets={"turns": 2},
        detectors={"enabled": False},
    )
    reg, small, strong = registry(
        [agent],
        small=[dispatch()[0], *wrong(2), dispatch()[1]],
        strong=[
            tool_calls(("overwatch_decision", {"mode": "take_over", "guidance": "finish it"})),
            tool_calls(("lookup", {"key": "right"})),
            reply("42"),
        ],
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    strong.assert_complete()
    (episode,) = kinds(result, "escalation")
    assert episode["trigger"] == "budget" and episode["outcome"] == "took_over"


def _malformed_escalations(n: int) -> list[object]:
    return [tool_calls(("escalate", {"why": "stuck"}), agent="worker") for _ in range(n)]


def test_a_malformed_escalate_is_traced_and_counted_like_any_invalid_call() -> None:
    # Before: an `escalate` without reason/question was answered but never traced, never
    # counted against the invalid-call cap and unseen by the detectors: a model repeating it
    # burned turns silently until the turn budget ran out.
    quiet = Agent(
        name="worker",
        description="Looks things up.",
        tools=[lookup],
        tier="weak",
        detectors={"enabled": False},
    )
    reg, _, _ = registry([quiet], small=[dispatch()[0], *_malformed_escalations(30)])
    with pytest.raises(ToolErrorCapExceeded) as caught:
        Dispatcher(reg).run_sync("find the value")
    calls = [e for e in caught.value.events if e.kind == "tool_call"]
    assert len(calls) == 9  # the cap is 8 invalid calls per run
    assert all(c.tool == "escalate" and c.error_kind == "invalid_arguments" for c in calls)  # type: ignore[attr-defined]
    assert "reason" in str(calls[0].error)  # type: ignore[attr-defined]


def test_repeated_malformed_escalations_are_seen_by_the_loop_detector() -> None:
    reg, small, strong = registry(
        [WORKER],
        small=[
            dispatch()[0],
            *_malformed_escalations(6),  # failing repeat #3: nudge; #6: escalation
            tool_calls(("lookup", {"key": "right"}), agent="worker"),
            reply("42", agent="worker"),
            dispatch()[1],
        ],
        strong=[advice()],
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    strong.assert_complete()
    assert [d["action"] for d in kinds(result, "detector")] == ["nudge", "escalate"]
    (episode,) = kinds(result, "escalation")
    assert episode["trigger"] == "detector" and episode["outcome"] == "advised"


class _SyncGate:
    name = "sync"

    def __call__(self, answer: str) -> GateResult:
        return GateResult(answer == "42", "the answer must be 42")


class _BoolGate:
    name = "bool"

    async def __call__(self, answer: str) -> bool:
        return True


class _NamelessGate:
    async def __call__(self, answer: str) -> GateResult:
        return GateResult(True, "ok")


def test_a_plain_function_gate_works_like_an_async_one() -> None:
    # Before: "object GateResult can't be used in 'await' expression" at the first answer.
    agent = Agent(
        name="worker", description="Looks things up.", tools=[lookup], tier="weak", gate=_SyncGate()
    )
    reg, small, _ = registry(
        [agent], small=[dispatch()[0], reply("42", agent="worker"), dispatch()[1]]
    )
    result = Dispatcher(reg).run_sync("find the value")
    small.assert_complete()
    assert result.status == "ok"


class _ListEvidenceGate:
    name = "list_evidence"

    async def __call__(self, answer: str) -> GateResult:
        return GateResult(False, "no rows", evidence=["rows", 0])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gate", "problem"),
    [(_BoolGate(), "returned bool, not a GateResult"), (_ListEvidenceGate(), "evidence")],
)
def test_a_gate_that_returns_no_gate_result_is_a_config_error_naming_it(
    gate: object, problem: str
) -> None:
    agent = Agent(
        name="worker", description="Looks things up.", tools=[lookup], tier="weak", gate=gate
    )
    reg, _, _ = registry([agent], small=[dispatch()[0], reply("42", agent="worker"), dispatch()[1]])
    with pytest.raises(ConfigError, match=problem) as caught:
        Dispatcher(reg).run_sync("find the value")
    assert repr(gate.name) in str(caught.value)  # type: ignore[attr-defined]


@pytest.mark.parametrize("gate", [_NamelessGate(), "tests_pass"])
def test_a_gate_without_a_name_or_not_callable_is_refused_when_the_agent_is_made(
    gate: object,
) -> None:
    with pytest.raises(ConfigError, match="gate") as caught:
        Agent(name="worker", description="d", gate=gate)  # type: ignore[arg-type]
    assert caught.value.fix and "GateResult" in caught.value.fix
