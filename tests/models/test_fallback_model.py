"""FallbackModel: moving to the next deployment, context fallback and cooldowns."""

from __future__ import annotations

import pytest
from fake_models import ScriptedModel, answer

from dispatcher.errors import (
    ConfigError,
    ContextOverflowError,
    ModelConnectionError,
    ProviderError,
    RetryableProviderError,
)
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import FallbackModel, Model, RetryingModel, RetryPolicy
from dispatcher.trace.events import ModelFallback
from dispatcher.trace.sink import MemoryTraceSink

pytestmark = pytest.mark.anyio

ASK = ModelRequest(messages=[UserMessage("hi")])


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def down() -> RetryableProviderError:
    return RetryableProviderError("overloaded", model="a", status_code=529)


def fallbacks(sink: MemoryTraceSink) -> list[ModelFallback]:
    return [e for e in sink.events if isinstance(e, ModelFallback)]


async def test_context_overflow_goes_to_the_next_candidate_without_retrying(
    trace_sink: MemoryTraceSink,
) -> None:
    small = ScriptedModel("small", [ContextOverflowError("prompt is too long", model="small")])
    large = ScriptedModel("large", [answer("fits", model="large")])

    async def never_sleep(_: float) -> None:
        raise AssertionError("a context overflow must not be retried")

    model = FallbackModel(
        [
            ("small", RetryingModel(small, policy=RetryPolicy(max_retries=3), sleep=never_sleep)),
            ("large", large),
        ]
    )
    response = await model.request(ASK)
    assert response.text == "fits"
    assert (small.calls, large.calls) == (1, 1)
    assert [e.kind for e in trace_sink.events] == ["model_fallback"]
    (event,) = fallbacks(trace_sink)
    assert (event.from_model, event.to_model, event.cooldown_s) == ("small", "large", None)
    assert event.reason.startswith("context_overflow")


async def test_context_overflow_puts_no_cooldown_on_the_deployment() -> None:
    small = ScriptedModel(
        "small", [ContextOverflowError("too long", model="small"), answer("short ok")]
    )
    model = FallbackModel([("small", small), ("large", ScriptedModel("large", [answer()]))])
    await model.request(ASK)
    assert (await model.request(ASK)).text == "short ok"  # tried first again at once


async def test_context_fallback_can_be_turned_off() -> None:
    small = ScriptedModel("small", [ContextOverflowError("too long", model="small")])
    large = ScriptedModel("large", [])
    model = FallbackModel([("small", small), ("large", large)], context_fallback=False)
    with pytest.raises(ContextOverflowError):
        await model.request(ASK)
    assert large.calls == 0


async def test_failing_deployment_cools_down_and_is_tried_again_afterwards(
    trace_sink: MemoryTraceSink,
) -> None:
    clock = FakeClock()
    primary = ScriptedModel("a", [down(), answer("a is back")])
    backup = ScriptedModel("b", [answer("b1"), answer("b2")])
    model = FallbackModel([("a", primary), ("b", backup)], cooldown_s=60, clock=clock)

    assert (await model.request(ASK)).text == "b1"
    (moved,) = fallbacks(trace_sink)
    assert (moved.from_model, moved.to_model, moved.cooldown_s) == ("a", "b", 60)

    clock.now += 30  # still cooling
    assert (await model.request(ASK)).text == "b2"
    assert primary.calls == 1
    skipped = fallbacks(trace_sink)[-1]
    assert (skipped.from_model, skipped.to_model) == ("a", "b")
    assert skipped.reason.startswith("cooldown")
    assert skipped.cooldown_s == pytest.approx(30)

    clock.now += 31  # cooldown over
    assert (await model.request(ASK)).text == "a is back"
    assert primary.calls == 2


async def test_auth_and_not_found_errors_move_on_but_bad_requests_do_not() -> None:
    unauthorized = ScriptedModel("a", [ProviderError("bad key", model="a", status_code=401)])
    model = FallbackModel([("a", unauthorized), ("b", ScriptedModel("b", [answer("b")]))])
    assert (await model.request(ASK)).text == "b"

    bad_request = ScriptedModel("a", [ProviderError("bad schema", model="a", status_code=400)])
    untouched = ScriptedModel("b", [])
    model = FallbackModel([("a", bad_request), ("b", untouched)])
    with pytest.raises(ProviderError, match="bad schema"):
        await model.request(ASK)
    assert untouched.calls == 0


async def test_when_every_candidate_fails_the_last_error_is_raised(
    trace_sink: MemoryTraceSink,
) -> None:
    model = FallbackModel(
        [
            ("a", ScriptedModel("a", [down()])),
            ("b", ScriptedModel("b", [ModelConnectionError("refused", model="b")])),
        ]
    )
    with pytest.raises(ModelConnectionError, match="refused"):
        await model.request(ASK)
    assert [(e.from_model, e.to_model) for e in fallbacks(trace_sink)] == [("a", "b"), ("b", None)]


async def test_when_all_are_cooling_the_soonest_ready_is_tried() -> None:
    clock = FakeClock()
    a = ScriptedModel("a", [down(), answer("a again")])
    b = ScriptedModel("b", [down()])
    model = FallbackModel([("a", a), ("b", b)], cooldown_s=60, clock=clock)
    with pytest.raises(RetryableProviderError):
        await model.request(ASK)
    clock.now += 1  # both cooling; a's cooldown ends first
    assert (await model.request(ASK)).text == "a again"


def test_candidates_must_be_given_and_named_uniquely() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        FallbackModel([])
    model = ScriptedModel("m", [])
    with pytest.raises(ConfigError, match="unique"):
        FallbackModel([("x", model), ("x", model)])


def test_fallback_model_is_a_model() -> None:
    model = FallbackModel([("first", ScriptedModel("first-id", [])), ("b", ScriptedModel("b", []))])
    assert isinstance(model, Model)
    assert model.model_id == "first-id"
