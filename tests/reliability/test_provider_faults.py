"""Guarantees 1-6: provider faults, through the real SDK client, adapter and registry factory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from reliability_harness import (
    Provider,
    client,
    completion,
    error,
    kinds,
    stream,
    text_stream,
    tool_call_stream,
    wire_registry,
)

from dispatcher import Agent, Dispatcher, tool
from dispatcher.errors import (
    ConfigError,
    DeadlineExceededError,
    ProviderError,
    RetryableProviderError,
)
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import FallbackModel, RetryingModel
from dispatcher.testing import block_real_models
from dispatcher.trace.reader import read_trace

pytestmark = pytest.mark.anyio

rings: list[int] = []


@tool
def ring(times: int) -> str:
    """Ring the bell (a side effect: it must happen once per call)."""
    rings.append(times)
    return f"rang {times} time(s)"


CLERK = Agent(name="clerk", description="Rings bells.", tools=[ring], tier="weak")
DELEGATE = completion("", ("d1", "clerk", {"task": "ring the bell once"}))


@pytest.fixture(autouse=True)
def _fresh() -> None:
    rings.clear()


@pytest.fixture(autouse=True)
def _wire_only() -> object:
    """Real adapters are allowed here: every one of them talks to a MockTransport."""
    with block_real_models(False):
        yield


def overloaded(n: int) -> list[object]:
    return [
        error(529, "Overloaded", request_id=f"req_529_{i}", retry_after_ms="1") for i in range(n)
    ]


async def test_529_three_times_then_200_completes_with_three_retries_and_each_tool_once(
    tmp_path: Path,
) -> None:
    provider = Provider(
        small=[
            DELEGATE,
            *overloaded(3),
            completion("", ("c1", "ring", {"times": 1})),
            completion("rang once"),
            completion("The bell rang once."),
        ]
    )
    async with client(provider) as http:
        registry = wire_registry([CLERK], http)
        result = await Dispatcher(registry, runs_dir=tmp_path).run("ring the bell")
    provider.assert_drained()
    assert result.answer == "The bell rang once."
    assert rings == [1]  # the tool ran exactly once
    assert isinstance(registry.model("small"), RetryingModel)
    assert len(provider.requests) == 7  # SDK retries are off: every attempt is ours
    assert result.trace_path is not None
    events = read_trace(result.trace_path)
    retries = kinds(events, "model_retry")
    assert [(r.attempt, r.status_code, r.request_id) for r in retries] == [
        (1, 529, "req_529_0"),
        (2, 529, "req_529_1"),
        (3, 529, "req_529_2"),
    ]
    assert [r.delay_s for r in retries] == [0.001] * 3  # retry-after-ms honoured
    worker_calls = [c for c in kinds(events, "model_call") if c.agent == "clerk"]
    assert [c.retries for c in worker_calls] == [3, 0]
    assert len(kinds(events, "tool_call")) == 1
    assert events[-1].kind == "run_finished" and events[-1].status == "ok"


async def test_retries_stop_at_the_profiles_num_retries(tmp_path: Path) -> None:
    provider = Provider(small=[error(503, "down", retry_after_ms="1")] * 2)
    async with client(provider) as http:
        registry = wire_registry([CLERK], http, models={"small": {"num_retries": 1}})
        with pytest.raises(RetryableProviderError) as caught:
            await Dispatcher(registry, runs_dir=tmp_path).run("ring the bell")
    assert len(provider.requests) == 2
    assert caught.value.status_code == 503
    (trace,) = tmp_path.glob("*.jsonl")
    finished = read_trace(trace)[-1]
    assert finished.kind == "run_finished" and finished.status == "error"
    assert finished.error is not None and finished.error["type"] == "RetryableProviderError"


@pytest.mark.parametrize("bad", [-1, "three", True])
async def test_an_invalid_num_retries_is_a_config_error(bad: object) -> None:
    # Refused when the file is loaded, before any model is built.
    async with client(Provider()) as http:
        with pytest.raises(ConfigError, match="num_retries"):
            wire_registry([CLERK], http, models={"small": {"num_retries": bad}})


@pytest.mark.parametrize("level", ["run", "agent"])
async def test_a_retry_after_beyond_the_wall_time_budget_fails_fast(
    tmp_path: Path, level: str
) -> None:
    """The run's (or the agent's) wall_s budget is the deadline of every retry wait."""
    wait = error(429, "slow down", request_id="req_429", retry_after="45")
    answers = [wait] if level == "run" else [DELEGATE, wait]
    provider = Provider(small=answers)
    budgets = {"wall_s": 30}
    clerk = (
        CLERK
        if level == "run"
        else Agent(
            name="clerk", description="Rings bells.", tools=[ring], tier="weak", budgets=budgets
        )
    )
    async with client(provider) as http:
        registry = wire_registry(
            [clerk], http, dispatcher={"budgets": budgets} if level == "run" else None
        )
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError, match="deadline"):
            await Dispatcher(registry, runs_dir=tmp_path).run("ring the bell")
    assert time.monotonic() - started < 5  # failed at once instead of waiting 45 s
    provider.assert_drained()
    (trace,) = tmp_path.glob("*.jsonl")
    finished = read_trace(trace)[-1]
    assert finished.kind == "run_finished" and finished.status == "error"
    assert finished.error is not None and finished.error["type"] == "DeadlineExceededError"


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_end_the_run_without_retry_naming_the_request_id(
    tmp_path: Path, status: int
) -> None:
    provider = Provider(small=[error(status, "no such thing", request_id="req_client_err")])
    async with client(provider) as http:
        registry = wire_registry([CLERK], http)
        with pytest.raises(ProviderError) as caught:
            await Dispatcher(registry, runs_dir=tmp_path).run("ring the bell")
    assert type(caught.value) is ProviderError
    assert (caught.value.status_code, caught.value.request_id) == (status, "req_client_err")
    assert len(provider.requests) == 1
    (trace,) = tmp_path.glob("*.jsonl")
    events = read_trace(trace)
    finished = events[-1]
    assert finished.kind == "run_finished" and finished.error is not None
    assert "req_client_err" in finished.error["message"]
    assert kinds(events, "model_retry") == []


async def test_a_stream_stalled_inside_a_tool_call_is_replayed_once_and_the_tool_runs_once(
    tmp_path: Path,
) -> None:
    """Tools run only on a complete response, so a replayed stall never repeats a tool."""
    chunks = tool_call_stream("c1", "ring", {"times": 2})
    provider = Provider(
        small=[
            stream(tool_call_stream("d1", "clerk", {"task": "ring twice"})),
            stream(chunks, stall_after=2),  # the tool call has started streaming, then silence
            stream(chunks),
            stream(text_stream("rang twice")),
            stream(text_stream("It rang twice.")),
        ]
    )
    async with client(provider) as http:
        registry = wire_registry(
            [CLERK], http, models={"small": {"stream": True, "stream_timeout": 0.2}}
        )
        started = time.monotonic()
        result = await Dispatcher(registry, runs_dir=tmp_path).run("ring twice")
    assert time.monotonic() - started < 3  # one idle timeout, never a hang
    provider.assert_drained()
    assert result.answer == "It rang twice." and rings == [2]
    (retry,) = kinds(result.events, "model_retry")
    assert retry.error["type"] == "StreamStalledError" and retry.delay_s == 0


OVERFLOW = error(
    400,
    "This model's maximum context length is 8192 tokens",
    code="context_length_exceeded",
    request_id="req_overflow",
)


async def test_context_overflow_moves_to_the_larger_model_without_a_same_model_retry() -> None:
    provider = Provider(
        small=[OVERFLOW, completion("small again")],
        big=[completion("answered by the big model")],
    )
    async with client(provider) as http:
        registry = wire_registry(
            [CLERK],
            http,
            models={"small": {}, "big": {}},
            dispatcher={"fallbacks": {"small": ["big"]}},
        )
        model = registry.model("small")
        assert isinstance(model, FallbackModel)
        first = await model.request(ModelRequest(messages=[UserMessage("a long prompt")]))
        second = await model.request(ModelRequest(messages=[UserMessage("short")]))
    assert first.text == "answered by the big model"
    assert second.text == "small again"  # no cooldown: the deployment itself is fine
    assert len(provider.to("small")) == 2 and len(provider.to("big")) == 1


async def test_context_overflow_fallback_is_recorded_in_the_run_trace(tmp_path: Path) -> None:
    provider = Provider(
        small=[DELEGATE, OVERFLOW, completion("done")],
        big=[completion("rang none")],
    )
    async with client(provider) as http:
        registry = wire_registry(
            [CLERK],
            http,
            models={"small": {}, "big": {}},
            dispatcher={"fallbacks": {"small": ["big"]}},
        )
        result = await Dispatcher(registry, runs_dir=tmp_path).run("ring the bell")
    provider.assert_drained()
    (fallback,) = kinds(result.events, "model_fallback")
    assert (fallback.from_model, fallback.to_model, fallback.cooldown_s) == ("small", "big", None)
    assert fallback.reason.startswith("context_overflow")
    assert kinds(result.events, "model_retry") == []  # never retried on the same model


async def test_a_failing_deployment_cools_down_then_is_tried_again() -> None:
    provider = Provider(
        small=[error(503, "down", retry_after_ms="1"), completion("small is back")],
        backup=[completion("from backup"), completion("backup again")],
    )
    now = [1000.0]
    async with client(provider) as http:
        registry = wire_registry(
            [CLERK],
            http,
            models={"small": {"num_retries": 0}, "backup": {}},
            dispatcher={"fallbacks": {"small": ["backup"]}, "fallback_cooldown_s": 30},
        )
        model = registry.model("small")
        assert isinstance(model, FallbackModel)
        model._clock = lambda: now[0]  # a fake clock (private hook): no waiting for cooldowns
        ask = ModelRequest(messages=[UserMessage("hi")])
        assert (await model.request(ask)).text == "from backup"
        now[0] += 10  # still cooling: small is skipped without a request
        assert (await model.request(ask)).text == "backup again"
        assert len(provider.to("small")) == 1
        now[0] += 25  # cooled down: small is tried again
        assert (await model.request(ask)).text == "small is back"
    provider.assert_drained()


def test_fallbacks_must_name_known_models() -> None:
    from dispatcher.registry.config import parse_registry_config

    base = {"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/a"}}]}
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        parse_registry_config({**base, "dispatcher": {"fallbacks": {"a": ["nope"]}}})
    with pytest.raises(ConfigError, match="its own fallback"):
        parse_registry_config({**base, "dispatcher": {"fallbacks": {"a": ["a"]}}})
