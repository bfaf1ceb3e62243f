"""Guarantee 10: side effects happen once; results are cached per (run, tool call)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_harness import kinds, scripted_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.errors import RetryableProviderError
from dispatcher.messages import ModelRequest, ModelResponse, ToolCall, Usage
from dispatcher.models import RetryingModel, RetryPolicy
from dispatcher.testing import FunctionModel, reply, tool_calls

charges: list[int] = []


@tool(idempotent=False)
def charge(cents: int) -> str:
    """Charge the card (not idempotent)."""
    charges.append(cents)
    return f"charged {cents} (charge #{len(charges)})"


CASHIER = Agent(name="cashier", description="Takes payments.", tools=[charge], tier="weak")
PAY = ToolCall("call_pay_1", "charge", '{"cents": 500}')


@pytest.fixture(autouse=True)
def _fresh() -> None:
    charges.clear()


def _answer(*calls: ToolCall, text: str = "") -> ModelResponse:
    return ModelResponse(
        text=text,
        tool_calls=calls,
        usage=Usage(10, 5),
        finish_reason="tool_calls" if calls else "stop",
    )


def _script() -> Iterator[ModelResponse | Exception]:
    """The provider fails after the tool ran, then replays the step with the same call id."""
    yield _answer(ToolCall("d1", "cashier", '{"task": "charge 5 dollars"}'))  # dispatcher
    yield _answer(PAY)  # worker: charge once
    yield RetryableProviderError("overloaded", model="m", status_code=529, retry_after_s=0)
    yield _answer(PAY)  # the retried request answers with the same step again
    yield _answer(text="charged")  # worker done
    yield _answer(text="Charged $5.")  # dispatcher done


async def _no_wait(_: float) -> None:
    return None


def test_a_step_replayed_after_a_model_retry_does_not_repeat_the_side_effect(
    tmp_path: Path,
) -> None:
    script = _script()

    def provider(request: ModelRequest) -> ModelResponse:
        answer = next(script)
        if isinstance(answer, Exception):
            raise answer
        return answer

    flaky = RetryingModel(
        FunctionModel(provider),
        policy=RetryPolicy(max_retries=3),
        sleep=_no_wait,
        rng=random.Random(0),
    )
    registry, _, _ = scripted_registry([CASHIER], small=[])
    registry.use_models({"small": flaky})
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("charge 5 dollars")
    assert result.answer == "Charged $5."
    assert charges == [500]  # once, although the model asked twice
    assert len(kinds(result.events, "model_retry")) == 1
    events = kinds(result.events, "tool_call")
    assert [(e.call_id, e.cached) for e in events] == [("call_pay_1", False), ("call_pay_1", True)]
    assert events[1].output == events[0].output == "charged 500 (charge #1)"


def test_the_same_call_id_in_two_turns_runs_once_with_one_result(tmp_path: Path) -> None:
    registry, small, _ = scripted_registry(
        [CASHIER],
        small=[
            tool_calls(("cashier", {"task": "charge"}), agent="dispatcher"),
            tool_calls(PAY, agent="cashier"),
            tool_calls(PAY, agent="cashier"),
            reply("done", agent="cashier"),
            reply("Done.", agent="dispatcher"),
        ],
    )
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("charge")
    small.assert_complete()
    assert charges == [500]
    assert [e.cached for e in kinds(result.events, "tool_call")] == [False, True]
    worker = [r for r in small.requests if r.metadata.get("agent") == "cashier"]
    # The model saw the original result again, not a second charge.
    assert "charge #1" in str(worker[2].messages[-1])


def test_a_different_call_reusing_an_id_is_not_served_from_the_cache(tmp_path: Path) -> None:
    """Some servers number calls per response (call_0, call_0...): only an exact repeat is one."""
    registry, small, _ = scripted_registry(
        [CASHIER],
        small=[
            tool_calls(("cashier", {"task": "charge twice"}), agent="dispatcher"),
            tool_calls(ToolCall("call_0", "charge", '{"cents": 100}'), agent="cashier"),
            tool_calls(ToolCall("call_0", "charge", '{"cents": 200}'), agent="cashier"),
            reply("done", agent="cashier"),
            reply("Done.", agent="dispatcher"),
        ],
    )
    Dispatcher(registry, runs_dir=tmp_path).run_sync("charge twice")
    small.assert_complete()
    assert charges == [100, 200]


def test_the_cache_belongs_to_one_run(tmp_path: Path) -> None:
    """A new run with the same call id is new work, not a replay of the old run."""
    for _ in range(2):
        registry, small, _ = scripted_registry(
            [CASHIER],
            small=[
                tool_calls(("cashier", {"task": "charge"}), agent="dispatcher"),
                tool_calls(PAY, agent="cashier"),
                reply("done", agent="cashier"),
                reply("Done.", agent="dispatcher"),
            ],
        )
        Dispatcher(registry, runs_dir=tmp_path).run_sync("charge")
    assert charges == [500, 500]
