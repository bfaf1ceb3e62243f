"""Wrong types and values given to the public API raise `ConfigError` saying what to fix,
never an AttributeError or TypeError from deep inside a run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from scenario import registry as scripted

from dispatcher import Agent, Budgets, ConfigError, Dispatcher, tool
from dispatcher.testing import ScriptedModel, reply


@tool
def ping() -> str:
    """Answer pong."""
    return "pong"


def plain_function() -> str:
    return "not a tool"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": 5},
        {"description": None},
        {"description": 3},
        {"tools": "sql.run_query"},
        {"tools": [5]},
        {"tools": [plain_function]},
        {"instructions": None},
        {"model": 7},
    ],
    ids=lambda kwargs: "-".join(f"{k}={v!r}" for k, v in kwargs.items()),
)
def test_agent_arguments_of_the_wrong_type(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"name": "helper", "description": "Helps.", "tier": "weak"}
    with pytest.raises(ConfigError, match="fix:"):
        Agent(**{**arguments, **kwargs})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"usd": -1},
        {"usd": 0},
        {"usd": "lots"},
        {"usd": math.nan},
        {"turns": 0},
        {"turns": 2.5},
        {"tokens": True},
        {"wall_s": -3},
    ],
    ids=str,
)
def test_budgets_out_of_range(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        Budgets(**kwargs)


def test_budgets_in_range_still_build() -> None:
    assert Budgets(usd=0.5, turns=3, tokens=100, wall_s=1.5, tool_calls=2).turns == 3
    assert Budgets.from_mapping({"usd": 1}).usd == 1


def _registry() -> Any:
    helper = Agent(name="helper", description="Helps.", tier="weak", tools=[ping])
    registry, _, _ = scripted([helper], small=[reply("hi", agent="dispatcher")])
    return registry


@pytest.mark.parametrize("registry", [None, "dispatcher.yaml", 5])
def test_a_dispatcher_needs_a_registry(registry: Any) -> None:
    with pytest.raises(ConfigError, match="Registry"):
        Dispatcher(registry)


@pytest.mark.parametrize("task", [None, 5, b"bytes"])
def test_a_task_must_be_text(task: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="task"):
        Dispatcher(_registry(), runs_dir=tmp_path).run_sync(task)


def test_runs_dir_may_be_a_string(tmp_path: Path) -> None:
    result = Dispatcher(_registry(), runs_dir=str(tmp_path)).run_sync("hello")
    assert result.trace_path is not None and result.trace_path.parent == tmp_path


@pytest.mark.parametrize(
    "models",
    [5, {"no-such-model": ScriptedModel([])}, {"small": "not a model"}],
    ids=["not-a-mapping", "unknown-name", "not-a-model"],
)
def test_use_models_checks_its_argument(models: Any) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        _registry().use_models(models)


@pytest.mark.parametrize("item", ["helper", 5, plain_function])
def test_register_takes_agents_and_tools_only(item: Any) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        _registry().register(item)


@pytest.mark.parametrize(
    "schema",
    [{"type": "wrong"}, {"type": "string"}, "task", {"properties": 5}],
    ids=["unknown-type", "not-an-object", "not-a-mapping", "broken-properties"],
)
def test_an_input_schema_must_be_a_json_schema_of_an_object(schema: Any) -> None:
    with pytest.raises(ConfigError, match="input_schema"):
        Agent(name="helper", description="Helps.", tier="weak", input_schema=schema)


def test_an_input_schema_of_an_object_is_accepted() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert Agent(name="helper", description="d", tier="weak", input_schema=schema).input_schema


@pytest.mark.parametrize(
    "run_id", [5, "a" * 300, "a\nb", "ü", "run id", ".hidden", "a/b", ""], ids=repr
)
def test_a_run_id_names_a_file_in_the_runs_folder(run_id: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run id"):
        Dispatcher(_registry(), runs_dir=tmp_path).run_sync("hello", run_id=run_id)
    assert list(tmp_path.iterdir()) == []


def test_a_good_run_id_is_used(tmp_path: Path) -> None:
    result = Dispatcher(_registry(), runs_dir=tmp_path).run_sync("hello", run_id="Run_2.a-b")
    assert result.trace_path == tmp_path / "Run_2.a-b.jsonl"


@pytest.mark.parametrize(
    "kwargs",
    [{"max_turns": "5"}, {"max_turns": 0}, {"max_reasks": -1}, {"budgets": 5}],
    ids=repr,
)
def test_dispatcher_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        Dispatcher(_registry(), **kwargs)


def test_dispatcher_budgets_may_be_a_mapping() -> None:
    assert Dispatcher(_registry(), budgets={"usd": 1}).budgets == Budgets(usd=1)


@pytest.mark.parametrize(
    "kwargs",
    [{"router": 5}, {"sinks": [5]}, {"sinks": "jsonl"}, {"checks": [5]}],
    ids=repr,
)
def test_dispatcher_hooks_must_have_their_shape(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        Dispatcher(_registry(), **kwargs)


@pytest.mark.parametrize(
    "detectors",
    ["loop", {"profile": "codin"}, {"stall": {"patience": 0}}, {"loops": {}}, 5],
    ids=repr,
)
def test_agent_detector_settings_are_checked_when_the_agent_is_made(detectors: Any) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        Agent(name="helper", description="Helps.", tier="weak", detectors=detectors)


def test_agent_detector_settings_may_name_a_profile() -> None:
    assert Agent(name="coder2", description="Codes.", tier="weak", detectors="coding").detectors
    Agent(name="x", description="X.", tier="weak", detectors={"profile": "sql", "stall": {}})


@pytest.mark.parametrize("sinks", [None, "trace.jsonl", [object()], 5])
def test_run_refuses_sinks_that_are_not_trace_sinks(sinks: object) -> None:
    import anyio

    registry, _, _ = scripted([Agent(name="helper", description="Helps.", tier="weak")], small=[])
    with pytest.raises(ConfigError, match="sink") as caught:
        anyio.run(lambda: Dispatcher(registry).run("q", sinks=sinks))  # type: ignore[arg-type]
    assert caught.value.fix


def test_run_sync_inside_a_running_event_loop_says_to_await_run() -> None:
    import anyio

    registry, _, _ = scripted([Agent(name="helper", description="Helps.", tier="weak")], small=[])

    async def in_async_code() -> None:  # a notebook cell, a web handler
        Dispatcher(registry).run_sync("q")

    with pytest.raises(ConfigError, match="event loop") as caught:
        anyio.run(in_async_code)
    assert "await" in str(caught.value.fix)
