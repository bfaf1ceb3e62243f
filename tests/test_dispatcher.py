"""The dispatcher agent: checked choices, re-asks, fallbacks, concurrency, the router seam."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from scenario import registry

from dispatcher import Agent, ConfigError, Dispatcher, tool
from dispatcher.errors import BudgetExceeded
from dispatcher.messages import ToolCall
from dispatcher.routing.base import RouteContext, RouteDecision
from dispatcher.testing import ScriptedModel, reply, tool_calls

arrived: dict[str, anyio.Event] = {}


@tool
async def rendezvous(me: str, other: str) -> str:
    """Wait until the other specialist has arrived too (only possible if both run at once)."""
    arrived.setdefault(me, anyio.Event()).set()
    with anyio.fail_after(2):
        await arrived.setdefault(other, anyio.Event()).wait()
    return f"{me} met {other}"


SALES = Agent(name="sales", description="Sales figures.", tools=[rendezvous], tier="weak")
STOCK = Agent(name="stock", description="Stock levels.", tools=[rendezvous], tier="weak")


def test_invalid_json_then_unknown_specialist_then_valid_choice() -> None:
    reg, small, _ = registry(
        [SALES, STOCK],
        small=[
            # malformed arguments, then a specialist that does not exist, then a valid choice
            tool_calls(ToolCall("d1", "sales", '{"task": "q1'), agent="dispatcher"),
            tool_calls(("marketing", {"task": "q1"}), agent="dispatcher"),
            tool_calls(("sales", {"task": "q1 sales"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg).run_sync("How did q1 go?")
    small.assert_complete()
    routes = [e for e in result.events if e.kind == "route"]
    assert [r.valid for r in routes] == [False, False, True]  # type: ignore[attr-defined]
    assert "not valid JSON" in routes[0].reason  # type: ignore[attr-defined]
    assert routes[0].raw_output and '"q1' in routes[0].raw_output  # type: ignore[attr-defined]
    assert "unknown specialist 'marketing'" in routes[1].reason  # type: ignore[attr-defined]
    assert result.answer == "Sales were 10 units." and result.routes == ["sales"]
    # The re-ask told the model exactly what was wrong.
    second = [r for r in small.requests if r.metadata.get("agent") == "dispatcher"][1]
    assert "not valid JSON" in str(second.messages[-1])


def test_invalid_choices_are_bounded_then_fall_back_to_the_default_route() -> None:
    bad = tool_calls(("nobody", {"task": "x"}), agent="dispatcher")
    reg, small, _ = registry(
        [SALES, STOCK],
        small=[bad, bad, bad, reply("fallback answer", agent="stock")],
        dispatcher={"default_route": "stock"},
    )
    result = Dispatcher(reg, max_reasks=2).run_sync("anything")
    small.assert_complete()
    assert result.answer == "fallback answer"
    fallback = [e for e in result.events if e.kind == "route"][-1]
    assert fallback.router == "default_route" and fallback.chosen == "stock"  # type: ignore[attr-defined]


def test_without_a_default_route_the_strong_model_chooses() -> None:
    bad = tool_calls(("nobody", {"task": "x"}), agent="dispatcher")
    reg, small, strong = registry(
        [SALES],
        small=[bad, bad, reply("from sales", agent="sales")],
        strong=[tool_calls(("sales", {"task": "x"}), agent="dispatcher")],
    )
    result = Dispatcher(reg, max_reasks=1).run_sync("anything")
    strong.assert_complete()
    assert result.answer == "from sales"


def test_independent_delegations_in_one_turn_run_concurrently() -> None:
    arrived.clear()
    reg, small, _ = registry(
        [SALES, STOCK],
        small=[
            tool_calls(
                ("sales", {"task": "sales for q1"}),
                ("stock", {"task": "stock for q1"}),
                agent="dispatcher",
            ),
            tool_calls(("rendezvous", {"me": "sales", "other": "stock"}), agent="sales"),
            tool_calls(("rendezvous", {"me": "stock", "other": "sales"}), agent="stock"),
            reply("sales done", agent="sales"),
            reply("stock done", agent="stock"),
            reply("both done", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg).run_sync("Report sales and stock for q1")
    small.assert_complete()
    outputs = [e.output for e in result.events if e.kind == "tool_call"]  # type: ignore[attr-defined]
    assert sorted(outputs) == ["sales met stock", "stock met sales"]
    assert sorted(result.routes) == ["sales", "stock"]


@dataclass
class FixedRouter:
    name: str
    chosen: str | None

    def __call__(self, context: RouteContext) -> RouteDecision:
        return RouteDecision(self.name, self.chosen, 0.9, 0.5, "fixture")


def test_a_confident_router_skips_the_dispatcher_model() -> None:
    reg, small, _ = registry([SALES, STOCK], small=[reply("stock is 5", agent="stock")])
    result = Dispatcher(reg, router=FixedRouter("semantic", "stock")).run_sync("stock?")
    small.assert_complete()
    first = next(e for e in result.events if e.kind == "route")
    assert first.router == "semantic" and first.score == 0.9  # type: ignore[attr-defined]
    assert result.answer == "stock is 5"


def test_an_unsure_router_defers_to_the_dispatcher_model() -> None:
    reg, small, _ = registry(
        [SALES],
        small=[
            tool_calls(("sales", {"task": "x"}), agent="dispatcher"),
            reply("s", agent="sales"),
            reply("done", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg, router=FixedRouter("semantic", None)).run_sync("anything")
    small.assert_complete()
    routers = [e.router for e in result.events if e.kind == "route"]  # type: ignore[attr-defined]
    assert routers == ["semantic", "dispatcher_model"]


def test_json_mode_for_models_without_tool_calling() -> None:
    reg, small, _ = registry(
        [SALES],
        small=[
            reply(
                'Sure! ```json\n{"tool": "sales", "arguments": {"task": "q"}}\n```',
                agent="dispatcher",
            ),
            reply("7", agent="sales"),
            reply('{"final_answer": "seven"}', agent="dispatcher"),
        ],
        dispatcher={"models": {"small": {"capabilities": []}}},
    )
    result = Dispatcher(reg).run_sync("q?")
    assert result.answer == "seven"
    first = next(r for r in small.requests if r.metadata.get("agent") == "dispatcher")
    assert first.response_schema is not None and not first.tools


def test_unknown_default_route_is_a_config_error() -> None:
    reg, _, _ = registry([SALES], small=[])
    with pytest.raises(ConfigError, match="default_route"):
        Dispatcher(reg, default_route="nobody")


def test_budget_errors_carry_the_partial_trace() -> None:
    loop = tool_calls(("rendezvous", {"me": "a", "other": "a"}), agent="sales")
    reg, _, _ = registry(
        [SALES],
        small=[tool_calls(("sales", {"task": "x"}), agent="dispatcher"), loop, loop],
        dispatcher={"budgets": {"turns": 2}},
    )
    with pytest.raises(BudgetExceeded) as info:
        Dispatcher(reg).run_sync("anything")
    assert info.value.budget == "turns" and info.value.spent == 2
    events = info.value.events
    assert events[-1].kind == "run_finished" and events[-1].status == "budget_exceeded"  # type: ignore[union-attr]
    assert sum(1 for e in events if e.kind == "model_call") == 2


def test_a_configured_tier_router_sets_the_workers_model(tmp_path: Path) -> None:
    config = tmp_path / "dispatcher.yaml"
    config.write_text(
        """
model_list:
  - {model_name: small, litellm_params: {model: openai/small}}
  - {model_name: strong, litellm_params: {model: anthropic/strong}}
dispatcher:
  tiers: {weak: small, strong: strong}
  dispatcher_model: small
  router: {type: length, threshold: 20, strong: strong, weak: weak}
"""
    )
    dispatcher = Dispatcher.from_config(config, agents=[SALES], runs_dir=tmp_path)
    small = ScriptedModel(
        [
            tool_calls(("sales", {"task": "x"}), agent="dispatcher"),
            reply("done", agent="dispatcher"),
        ]
    )
    strong = ScriptedModel([reply("worked on the strong model", agent="sales")])
    dispatcher.registry.use_models({"small": small, "strong": strong})
    result = dispatcher.run_sync("a prompt that is clearly longer than twenty characters")
    small.assert_complete()
    strong.assert_complete()
    first = next(e for e in result.events if e.kind == "route")
    assert first.router == "length" and first.chosen == "strong"  # type: ignore[attr-defined]
    assert first.threshold == 20  # type: ignore[attr-defined]


@pytest.mark.parametrize("task", ["", "  \n "])
def test_a_delegation_with_an_empty_task_is_re_asked(task: str) -> None:
    # Before: the specialist started on an empty user message, which Anthropic's API
    # refuses (400: text content blocks must be non-empty), failing the run.
    reg, small, _ = registry(
        [SALES, STOCK],
        small=[
            tool_calls(("sales", {"task": task}), agent="dispatcher"),
            tool_calls(("sales", {"task": "q1 sales"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg).run_sync("How did q1 go?")
    small.assert_complete()
    routes = [e for e in result.events if e.kind == "route"]
    assert [r.valid for r in routes] == [False, True]  # type: ignore[attr-defined]
    assert "empty" in routes[0].reason  # type: ignore[attr-defined]
    workers = [r for r in small.requests if r.metadata.get("agent") == "sales"]
    assert all(str(r.messages[0].content).strip() for r in workers)  # type: ignore[union-attr]


class _AnsweringRouter:
    name = "mine"

    def __init__(self, decision: object) -> None:
        self.decision = decision

    def __call__(self, context: RouteContext) -> object:
        return self.decision


@pytest.mark.parametrize(
    "decision",
    [
        None,
        "sales",
        RouteDecision("mine", 5, 0.5, None, "a number"),  # type: ignore[arg-type]
        RouteDecision("mine", "sales", "high", None, "a score in words"),  # type: ignore[arg-type]
        RouteDecision("mine", "sales", 0.5, None, None),  # type: ignore[arg-type]
    ],
    ids=["none", "text", "chosen_int", "score_text", "reason_none"],
)
def test_a_custom_router_answering_in_the_wrong_shape_is_a_config_error(
    tmp_path: Path, decision: object
) -> None:
    # Before: an AttributeError, or a route event of the wrong types written to the trace,
    # which could then not be read back.
    from dispatcher.trace.reader import read_trace

    reg, _, _ = registry([SALES, STOCK], small=[])
    dispatcher = Dispatcher(reg, router=_AnsweringRouter(decision), runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="router 'mine'") as caught:
        dispatcher.run_sync("How did q1 go?")
    assert caught.value.fix and "RouteDecision" in caught.value.fix
    (trace,) = tmp_path.glob("*.jsonl")
    assert read_trace(trace)[-1].kind == "run_finished"


def test_an_input_schema_made_by_pydantic_with_defs_and_refs_works() -> None:
    # A nested pydantic model's schema keeps its parts under $defs and points at them with
    # "#/$defs/...": embedded in the dispatcher's choice schema, those pointers resolved
    # against the wrong root and every choice failed with a referencing error.
    from pydantic import BaseModel

    class Period(BaseModel):
        quarter: int

    class SalesQuery(BaseModel):
        task: str
        period: Period

    schema = SalesQuery.model_json_schema()
    assert "$defs" in schema
    sales = Agent(name="sales", description="Sales figures.", tier="weak", input_schema=schema)
    reg, small, _ = registry(
        [sales, STOCK],
        small=[
            tool_calls(
                ("sales", {"task": "q1 sales", "period": {"quarter": "one"}}), agent="dispatcher"
            ),
            tool_calls(
                ("sales", {"task": "q1 sales", "period": {"quarter": 1}}), agent="dispatcher"
            ),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg).run_sync("How did q1 go?")
    small.assert_complete()
    routes = [e for e in result.events if e.kind == "route"]
    assert [r.valid for r in routes] == [False, True]  # type: ignore[attr-defined]
    assert "quarter" in routes[0].reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "ref", ["http://127.0.0.1:9/schema.json", "file:///etc/passwd", "#/$defs/missing"]
)
def test_an_input_schema_ref_that_leaves_the_schema_or_points_nowhere_is_refused(
    ref: str,
) -> None:
    schema = {"type": "object", "properties": {"task": {"$ref": ref}}, "required": ["task"]}
    with pytest.raises(ConfigError, match=r"\$ref"):
        Agent(name="sales", description="Sales.", input_schema=schema)
