"""Feedback reaches the bandit: `dispatcher feedback` and `RunResult.feedback` update the router
that routed a run, the trace records it, and shared state loses no update."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_runner import run_cli
from scenario import registry

from dispatcher import Agent, Dispatcher, RunResult
from dispatcher.errors import ConfigError
from dispatcher.feedback import give_feedback
from dispatcher.routing import build_router
from dispatcher.routing.bandit import LinUCBRouter
from dispatcher.routing.base import RouteContext
from dispatcher.testing import reply
from dispatcher.trace.events import FeedbackEvent, event_json_schema
from dispatcher.trace.reader import read_trace

TASK = "summarise the quarterly report"
FIRST = Agent(name="first", description="One way to do it.", tier="weak")
SECOND = Agent(name="second", description="Another way to do it.", tier="weak")


def _router_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "type": "bandit",
        "arms": ["first", "second"],
        "alpha": 0.0,  # no exploration: the choice follows what was learned
        "state_path": str(tmp_path / "bandit.json"),
    }


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "dispatcher.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {"model_name": "small", "litellm_params": {"model": "openai/small-model"}}
                ],
                "dispatcher": {"tiers": {"weak": "small"}, "router": _router_config(tmp_path)},
            }
        )
    )
    return path


def _routed_run(tmp_path: Path) -> RunResult:
    reg, _, _ = registry(
        [FIRST, SECOND],
        small=[reply("done", agent="first"), reply("done", agent="second")],
    )
    router = build_router(_router_config(tmp_path))
    dispatcher = Dispatcher(reg, router=router, runs_dir=tmp_path / "runs")
    return dispatcher.run_sync(TASK)


def _next_choice(tmp_path: Path) -> str | None:
    """What a freshly started process's bandit would choose for the same task."""
    router = build_router(_router_config(tmp_path))
    return router(RouteContext(TASK, ("first", "second", "strong", "weak"))).chosen


def test_cli_feedback_changes_the_bandits_next_choice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _routed_run(tmp_path)
    assert result.routes == ["first"] and _next_choice(tmp_path) == "first"
    args = ["feedback", result.run_id, "--reward", "-1", "--config", str(_config_file(tmp_path))]
    done = run_cli([*args, "--runs-dir", str(tmp_path / "runs")], capsys)
    assert done.exit_code == 0, done.stderr
    assert "updated bandit on first" in done.stdout
    assert _next_choice(tmp_path) == "second"
    assert result.trace_path is not None
    (event,) = [e for e in read_trace(result.trace_path) if isinstance(e, FeedbackEvent)]
    assert (event.reward, event.routes, event.source) == (-1.0, ["first"], "cli")


def test_a_run_takes_feedback_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = _routed_run(tmp_path)
    result.feedback(1.0)
    args = ["feedback", result.run_id, "--reward", "1", "--config", str(_config_file(tmp_path))]
    again = run_cli([*args, "--runs-dir", str(tmp_path / "runs")], capsys)
    assert again.exit_code == 2 and "already has feedback" in again.stderr
    assert "fix:" in again.stderr


def test_run_result_feedback_updates_the_router_in_process(tmp_path: Path) -> None:
    result = _routed_run(tmp_path)
    event = result.feedback(-1.0)
    assert isinstance(event, FeedbackEvent) and event.source == "api"
    assert isinstance(result.router, LinUCBRouter) and result.router.pulls("first") == 1
    assert _next_choice(tmp_path) == "second"


@pytest.mark.parametrize("reward", [float("nan"), float("inf"), "good", True])
def test_rewards_must_be_finite_numbers(tmp_path: Path, reward: Any) -> None:
    result = _routed_run(tmp_path)
    with pytest.raises(ConfigError, match="reward"):
        result.feedback(reward)


def test_feedback_without_a_router_is_a_clear_error(tmp_path: Path) -> None:
    reg, _, _ = registry(
        [FIRST],
        small=[
            _dispatch_to("first"),
            reply("done", agent="first"),
            reply("done", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg, runs_dir=tmp_path).run_sync(TASK)
    with pytest.raises(ConfigError, match="not routed by a router"):
        result.feedback(1.0)


def _dispatch_to(name: str) -> object:
    from dispatcher.testing import tool_calls

    return tool_calls((name, {"task": TASK}), agent="dispatcher")


def _hammer(state: str, arm: str, count: int) -> None:
    router = LinUCBRouter(["first", "second"], state_path=state)
    for _ in range(count):
        router.update(TASK, arm, 1.0)


def test_processes_sharing_the_state_lose_no_update(tmp_path: Path) -> None:
    state = str(tmp_path / "bandit.json")
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_hammer, args=(state, arm, 25)) for arm in ("first", "second")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    router = LinUCBRouter(["first", "second"], state_path=state)
    assert (router.pulls("first"), router.pulls("second")) == (25, 25)


def test_the_trace_schema_has_the_feedback_kind() -> None:
    assert "feedback" in str(event_json_schema())


class _Gate:
    def __init__(self, passed: bool) -> None:
        self.name = "rows_returned"
        self.passed = passed

    async def __call__(self, answer: str) -> Any:
        from dispatcher import GateResult

        return GateResult(self.passed, "ok" if self.passed else "no rows")


@pytest.mark.parametrize(("passed", "reward"), [(True, 1.0), (False, 0.0)])
def test_gates_give_feedback_when_configured(tmp_path: Path, passed: bool, reward: float) -> None:
    from dispatcher.errors import RunError

    gated = Agent(
        name="first",
        description="One way to do it.",
        tier="weak",
        gate=_Gate(passed),
        escalation={"enabled": False},
    )
    reg, _, _ = registry(
        [gated, SECOND],
        small=[reply("done", agent="first")],
        dispatcher={"feedback": {"from_gates": True}},
    )
    router = build_router(_router_config(tmp_path))
    dispatcher = Dispatcher(reg, router=router, runs_dir=tmp_path / "runs")
    if passed:
        dispatcher.run_sync(TASK)
    else:
        with pytest.raises(RunError, match="failed its validation gate"):
            dispatcher.run_sync(TASK)
    (trace,) = (tmp_path / "runs").glob("*.jsonl")
    (event,) = [e for e in read_trace(trace) if isinstance(e, FeedbackEvent)]
    assert (event.source, event.reward, event.routes) == ("gate", reward, ["first"])
    assert isinstance(router, LinUCBRouter) and router.pulls("first") == 1


def test_gates_give_no_feedback_unless_configured(tmp_path: Path) -> None:
    gated = Agent(name="first", description="One way.", tier="weak", gate=_Gate(True))
    reg, _, _ = registry([gated, SECOND], small=[reply("done", agent="first")])
    router = build_router(_router_config(tmp_path))
    result = Dispatcher(reg, router=router, runs_dir=tmp_path / "runs").run_sync(TASK)
    assert result.trace_path is not None
    assert not [e for e in read_trace(result.trace_path) if isinstance(e, FeedbackEvent)]


def test_feedback_on_a_long_task_updates_the_context_that_was_routed(tmp_path: Path) -> None:
    # The trace keeps a task's first 4000 characters and feedback reads the task from the
    # trace: the bandit learned the features of a shorter prompt (its length, counts) than
    # the one it had decided on.
    long_task = "summarise the quarterly report, section by section. " * 400  # 20,800 chars
    reg, _, _ = registry(
        [FIRST, SECOND], small=[reply("done", agent="first"), reply("done", agent="second")]
    )
    router = build_router(_router_config(tmp_path))
    assert isinstance(router, LinUCBRouter)
    result = Dispatcher(reg, router=router, runs_dir=tmp_path / "runs").run_sync(long_task)
    learned: list[str] = []
    original = router.update

    def spy(prompt: str, arm: str, quality: float, cost: float = 0.0) -> float:
        learned.append(prompt)
        return original(prompt, arm, quality, cost)

    router.update = spy  # type: ignore[method-assign]
    result.feedback(-1.0)
    (prompt,) = learned
    assert router.features([prompt]).tolist() == router.features([long_task]).tolist()


def test_feedback_on_a_trace_with_a_torn_last_line_leaves_it_readable(tmp_path: Path) -> None:
    # A killed run's trace ends with a line cut mid-write (no newline): reading skips it, but
    # the feedback line appended after it made one invalid complete line, so the trace could
    # never be read again.
    result = _routed_run(tmp_path)
    assert result.trace_path is not None
    with result.trace_path.open("ab") as file:
        file.write(b'{"run_id": "' + result.run_id.encode() + b'", "ts": "2026-')
    event = result.feedback(1.0)
    events = read_trace(result.trace_path, tolerate_partial_last_line=False)
    assert [e for e in events if isinstance(e, FeedbackEvent)] == [event]


def test_feedback_on_a_file_holding_several_runs_is_refused(tmp_path: Path) -> None:
    # A gateway's shared trace file holds many runs: one reward must not update the router
    # for every run in it (nor be refused because another run already had feedback).
    first, second = _routed_run(tmp_path), _routed_run(tmp_path)
    assert first.trace_path is not None and second.trace_path is not None
    shared = tmp_path / "shared.jsonl"
    shared.write_bytes(first.trace_path.read_bytes() + second.trace_path.read_bytes())
    router = build_router(_router_config(tmp_path))
    assert isinstance(router, LinUCBRouter)
    before = router.pulls("first") + router.pulls("second")
    with pytest.raises(ConfigError, match="holds 2 runs"):
        give_feedback(shared, router, 1.0)
    assert router.pulls("first") + router.pulls("second") == before
    assert not any(isinstance(e, FeedbackEvent) for e in read_trace(shared))


def test_give_feedback_takes_the_trace_path_as_text(tmp_path: Path) -> None:
    result = _routed_run(tmp_path)
    router = build_router(_router_config(tmp_path))
    event = give_feedback(str(result.trace_path), router, 1.0)  # type: ignore[arg-type]
    assert event.routes == ["first"]


def test_give_feedback_on_a_missing_trace_is_a_config_error(tmp_path: Path) -> None:
    router = build_router(_router_config(tmp_path))
    with pytest.raises(ConfigError, match="no trace"):
        give_feedback(tmp_path / "nope.jsonl", router, 1.0)


def test_a_routers_score_that_is_not_finite_is_traced_as_none(tmp_path: Path) -> None:
    # Trace events refuse NaN/Infinity (a trace holding them printed JSON that is not JSON);
    # a user's router scoring NaN must still run, its score traced as unknown (as the file
    # writer always wrote it: null).
    from dispatcher.routing.base import RouteDecision

    class NanRouter:
        name = "nan-router"

        def __call__(self, context: RouteContext) -> RouteDecision:
            return RouteDecision("nan-router", "first", float("nan"), float("inf"), "odd")

    reg, _, _ = registry([FIRST, SECOND], small=[reply("done", agent="first")])
    result = Dispatcher(reg, router=NanRouter(), runs_dir=tmp_path / "runs").run_sync(TASK)
    assert result.trace_path is not None
    (route,) = [e for e in read_trace(result.trace_path) if e.kind == "route"]
    assert (route.score, route.threshold, route.chosen) == (None, None, "first")
