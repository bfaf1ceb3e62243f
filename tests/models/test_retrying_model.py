"""RetryingModel: which errors are retried, how long it waits, and what it records."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fake_models import ScriptedModel, answer
from mock_wire import MockWire, json_response
from wire_payloads import anthropic_error, anthropic_message

from dispatcher.errors import (
    ConfigError,
    ContextOverflowError,
    DeadlineExceededError,
    ModelConnectionError,
    ProviderError,
    RetryableProviderError,
    StreamStalledError,
)
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import AnthropicModel, Model, RetryingModel, RetryPolicy, retry_deadline
from dispatcher.trace.events import ModelRetry
from dispatcher.trace.sink import MemoryTraceSink

pytestmark = pytest.mark.anyio

ASK = ModelRequest(messages=[UserMessage("hi")])


class Sleeps:
    """Records requested waits instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def overloaded(retry_after: float | None = None) -> RetryableProviderError:
    return RetryableProviderError(
        "overloaded", model="m", status_code=529, request_id="req_x", retry_after_s=retry_after
    )


def retrying(inner: Model, sleeps: Sleeps, **policy: Any) -> RetryingModel:
    clock = policy.pop("clock", None)
    extra = {"clock": clock} if clock else {}
    return RetryingModel(
        inner, policy=RetryPolicy(**policy), sleep=sleeps, rng=random.Random(7), **extra
    )


async def test_529_three_times_then_200_completes_with_three_retries(
    trace_sink: MemoryTraceSink,
) -> None:
    overload = anthropic_error("overloaded_error", "Overloaded")
    wire = MockWire(
        *(json_response(overload, 529, request_id=f"req_{n}") for n in range(3)),
        json_response(anthropic_message(text="finally"), request_id="req_ok"),
    )
    sleeps = Sleeps()
    async with wire.client() as http:
        model = retrying(
            AnthropicModel("claude-test", api_key="k-123456", http_client=http), sleeps
        )
        response = await model.request(ASK)
    assert (response.text, response.retries, response.request_id) == ("finally", 3, "req_ok")
    assert len(wire.requests) == 4
    events = trace_sink.events
    assert [e.kind for e in events] == ["model_retry"] * 3
    assert all(isinstance(e, ModelRetry) for e in events)
    retries = [e for e in events if isinstance(e, ModelRetry)]
    assert [e.attempt for e in retries] == [1, 2, 3]
    assert [e.request_id for e in retries] == ["req_0", "req_1", "req_2"]
    assert {e.status_code for e in retries} == {529}
    assert {e.parent_id for e in retries} == {"s0"}
    assert retries[0].error["type"] == "RetryableProviderError"
    assert [e.delay_s for e in retries] == sleeps.delays


async def test_backoff_is_exponential_jittered_and_capped() -> None:
    sleeps = Sleeps()
    inner = ScriptedModel("m", [overloaded() for _ in range(5)] + [answer()])
    model = retrying(
        inner,
        sleeps,
        max_retries=5,
        initial_delay_s=1.0,
        multiplier=2.0,
        max_delay_s=5.0,
        jitter=0.5,
    )
    await model.request(ASK)
    caps = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(sleeps.delays) == 5
    for delay, cap in zip(sleeps.delays, caps, strict=True):
        assert cap * 0.5 <= delay <= cap
    assert len(set(sleeps.delays)) == 5  # jitter makes them differ


async def test_same_seed_gives_same_delays() -> None:
    runs = []
    for _ in range(2):
        sleeps = Sleeps()
        await retrying(ScriptedModel("m", [overloaded(), overloaded(), answer()]), sleeps).request(
            ASK
        )
        runs.append(sleeps.delays)
    assert runs[0] == runs[1]


async def test_retry_after_is_honoured() -> None:
    sleeps = Sleeps()
    await retrying(ScriptedModel("m", [overloaded(retry_after=4.5), answer()]), sleeps).request(ASK)
    assert sleeps.delays == [4.5]


async def test_retry_after_longer_than_allowed_raises_at_once() -> None:
    sleeps = Sleeps()
    inner = ScriptedModel("m", [overloaded(retry_after=600)])
    with pytest.raises(RetryableProviderError):
        await retrying(inner, sleeps, max_retry_after_s=60).request(ASK)
    assert sleeps.delays == []


async def test_retry_after_past_the_deadline_raises_deadline_exceeded_fast() -> None:
    sleeps = Sleeps()
    now = 1000.0
    inner = ScriptedModel("m", [overloaded(retry_after=30)])
    model = retrying(inner, sleeps, deadline=now + 5, clock=lambda: now)
    with pytest.raises(DeadlineExceededError, match="deadline") as caught:
        await model.request(ASK)
    assert sleeps.delays == []
    assert inner.calls == 1
    assert isinstance(caught.value.__cause__, RetryableProviderError)


async def test_per_call_deadline_applies_too() -> None:
    sleeps = Sleeps()
    now = 50.0
    model = retrying(ScriptedModel("m", [overloaded(retry_after=2)]), sleeps, clock=lambda: now)
    with retry_deadline(now + 1), pytest.raises(DeadlineExceededError):
        await model.request(ASK)
    assert sleeps.delays == []


def test_nested_deadlines_keep_the_earlier() -> None:
    from dispatcher.models._retry import _DEADLINE

    with retry_deadline(10.0), retry_deadline(20.0):
        assert _DEADLINE.get() == 10.0
    assert _DEADLINE.get() is None


async def test_retries_run_out_and_the_last_error_is_raised(trace_sink: MemoryTraceSink) -> None:
    sleeps = Sleeps()
    inner = ScriptedModel("m", [overloaded() for _ in range(3)])
    with pytest.raises(RetryableProviderError):
        await retrying(inner, sleeps, max_retries=2).request(ASK)
    assert inner.calls == 3
    assert len(trace_sink.events) == 2  # one event per retried attempt


async def test_connection_errors_are_retried() -> None:
    sleeps = Sleeps()
    inner = ScriptedModel("m", [ModelConnectionError("refused", model="m"), answer("up")])
    response = await retrying(inner, sleeps).request(ASK)
    assert (response.text, response.retries) == ("up", 1)


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_not_retried_and_keep_the_request_id(status: int) -> None:
    wire = MockWire(
        json_response(
            anthropic_error("invalid_request_error", "nope"), status, request_id="req_4xx"
        )
    )
    sleeps = Sleeps()
    async with wire.client() as http:
        model = retrying(
            AnthropicModel("claude-test", api_key="k-123456", http_client=http), sleeps
        )
        with pytest.raises(ProviderError) as caught:
            await model.request(ASK)
    assert type(caught.value) is ProviderError
    assert (caught.value.status_code, caught.value.request_id) == (status, "req_4xx")
    assert "req_4xx" in str(caught.value)
    assert len(wire.requests) == 1
    assert sleeps.delays == []


async def test_context_overflow_is_not_retried() -> None:
    inner = ScriptedModel("m", [ContextOverflowError("too long", model="m", status_code=400)])
    with pytest.raises(ContextOverflowError):
        await retrying(inner, Sleeps()).request(ASK)
    assert inner.calls == 1


async def test_stalled_stream_is_replayed_once_only(trace_sink: MemoryTraceSink) -> None:
    stall = StreamStalledError("quiet", model="m")
    inner = ScriptedModel("m", [stall, stall])
    sleeps = Sleeps()
    with pytest.raises(StreamStalledError):
        await retrying(inner, sleeps, max_retries=5).request(ASK)
    assert inner.calls == 2
    assert sleeps.delays == []  # replayed at once: the stall already cost the idle timeout
    (event,) = trace_sink.events
    assert isinstance(event, ModelRetry) and event.error["type"] == "StreamStalledError"


async def test_no_tracer_means_no_events_and_no_error() -> None:
    response = await retrying(ScriptedModel("m", [overloaded(), answer()]), Sleeps()).request(ASK)
    assert response.retries == 1


async def test_retrying_model_is_a_model_named_after_its_inner_model() -> None:
    model = RetryingModel(ScriptedModel("inner-id", []))
    assert isinstance(model, Model)
    assert model.model_id == "inner-id"


@pytest.mark.parametrize(
    "bad", [{"max_retries": -1}, {"jitter": 1.5}, {"multiplier": 0.5}, {"initial_delay_s": -1}]
)
def test_invalid_policy_is_a_config_error(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        RetryPolicy(**bad)  # type: ignore[arg-type]
