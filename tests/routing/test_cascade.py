"""Cascade: the weak answer is kept when the gates pass, the strong model runs when one fails."""

from __future__ import annotations

import pytest

from dispatcher.gates import GateResult
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.routing.base import RouteContext
from dispatcher.routing.cascade import Cascade, CascadeRouter, ConfidenceGate, estimate_confidence
from dispatcher.testing import ScriptedModel, reply
from dispatcher.trace.events import RouteEvent
from dispatcher.trace.sink import MemoryTraceSink
from dispatcher.trace.tracer import Tracer, use_tracer

REQUEST = ModelRequest(messages=[UserMessage("What is the capital of Australia?")])


class RowsGate:
    """A domain gate stand-in: passes answers that mention 'rows'."""

    name = "rows"

    async def __call__(self, answer: str) -> GateResult:
        return GateResult("rows" in answer, "has rows" if "rows" in answer else "no rows")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Canberra.", 1.0),
        ("", 0.0),
        ("I think it is probably Sydney, but I'm not sure.", 0.25),
        ("Canberra. Confidence: 40%", 0.4),
        ("Canberra (confidence 0.9)", 0.9),
        ("I cannot answer that as an AI.", 0.0),
    ],
)
def test_confidence_estimate(answer: str, expected: float) -> None:
    assert estimate_confidence(answer)[0] == pytest.approx(expected)


@pytest.mark.anyio
async def test_confident_weak_answer_is_kept() -> None:
    weak, strong = (
        ScriptedModel([reply("Canberra.")], model_id="small"),
        ScriptedModel([], model_id="big"),
    )
    result = await Cascade(weak, strong, [ConfidenceGate()]).run(REQUEST)
    assert result.route == "weak" and result.response.text == "Canberra."
    assert result.gate_results[0][1].passed
    weak.assert_complete()


@pytest.mark.anyio
async def test_hedged_weak_answer_escalates_and_is_traced() -> None:
    weak = ScriptedModel([reply("Maybe Sydney? I'm not sure.")], model_id="small")
    strong = ScriptedModel([reply("Canberra.")], model_id="big")
    sink = MemoryTraceSink()
    with use_tracer(Tracer("run-1", [sink]), "s0"):
        result = await Cascade(weak, strong, [ConfidenceGate(0.6)]).run(REQUEST)
    assert result.escalated and result.response.text == "Canberra."
    assert result.weak_response.text.startswith("Maybe")
    strong.assert_complete()
    routes = [e for e in sink.events if isinstance(e, RouteEvent)]
    assert len(routes) == 1 and routes[0].chosen == "big" and routes[0].parent_id == "s0"
    assert "failed gate 'confidence'" in routes[0].reason


@pytest.mark.anyio
async def test_gates_run_in_order_and_stop_at_first_failure() -> None:
    weak = ScriptedModel([reply("Canberra, no rows")], model_id="small")
    strong = ScriptedModel([reply("42 rows")], model_id="big")
    result = await Cascade(weak, strong, [RowsGate(), ConfidenceGate()]).run(REQUEST)
    assert not result.escalated
    weak2 = ScriptedModel([reply("nothing here")], model_id="small")
    strong2 = ScriptedModel([reply("42 rows")], model_id="big")
    result2 = await Cascade(weak2, strong2, [RowsGate(), ConfidenceGate()]).run(REQUEST)
    assert result2.escalated and [name for name, _ in result2.gate_results] == ["rows"]


def test_cascade_router_starts_on_weak() -> None:
    decision = CascadeRouter()(RouteContext("anything", ("strong", "weak")))
    assert decision.chosen == "weak" and decision.score is None
    assert CascadeRouter()(RouteContext("anything", ("sql",))).chosen is None
