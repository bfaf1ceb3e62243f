"""Relayed requests retry retryable upstream failures, then fall back to the model's
`dispatcher.fallbacks`; the route header names the model that answered; a stream only changes
course before its first byte reaches the client."""

from __future__ import annotations

import openai
import pytest
from fake_upstream import FakeUpstream
from gateway_config import Gateway, run_events

HELLO = [{"role": "user", "content": "hello there"}]


def _kinds(run_id: str) -> list[str]:
    return [e.kind for e in run_events(run_id)]


@pytest.mark.parametrize("stream", [False, True])
def test_a_retryable_failure_is_retried_with_backoff(
    gateway: Gateway, upstream: FakeUpstream, stream: bool
) -> None:
    _, client = gateway()
    with client.chat.completions.with_streaming_response.create(
        model="flaky", messages=HELLO, stream=stream
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-dispatcher-route"] == "direct/flaky"
        run_id = response.headers["x-dispatcher-run-id"]
        answer = response.parse()
        text = (
            answer.choices[0].message.content  # type: ignore[union-attr]
            if not stream
            else "".join(c.choices[0].delta.content or "" for c in answer if c.choices)  # type: ignore[union-attr]
        )
    assert text == "echo: hello there"
    assert upstream.calls["flaky-1-503"] == 2
    events = run_events(run_id)
    (retry,) = [e for e in events if e.kind == "model_retry"]
    assert retry.status_code == 503 and retry.delay_s > 0  # type: ignore[union-attr]
    assert events[-1].status == "ok"  # type: ignore[union-attr]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("failing", ["s500", "s429", "unreachable"])
def test_a_failing_model_falls_back_and_the_headers_say_who_answered(
    gateway: Gateway, stream: bool, failing: str
) -> None:
    _, client = gateway({"fallbacks": {failing: ["echo"]}})
    with client.chat.completions.with_streaming_response.create(
        model=failing, messages=HELLO, stream=stream
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-dispatcher-route"] == "direct/echo"
        run_id = response.headers["x-dispatcher-run-id"]
        answer = response.parse()
        if stream:
            chunks = list(answer)  # type: ignore[call-overload]
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        else:
            text = answer.choices[0].message.content  # type: ignore[union-attr]
    assert text == "echo: hello there"
    events = run_events(run_id)
    (fallback,) = [e for e in events if e.kind == "model_fallback"]
    assert fallback.from_model == failing and fallback.to_model == "echo"  # type: ignore[union-attr]
    (call,) = [e for e in events if e.kind == "model_call"]
    assert call.model == "echo"  # type: ignore[union-attr]
    assert events[-1].status == "ok"  # type: ignore[union-attr]


def test_a_failed_model_cools_down_and_is_skipped_next_time(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    _, client = gateway({"fallbacks": {"s503": ["echo"]}})
    for _ in range(2):
        completion = client.chat.completions.create(model="s503", messages=HELLO)
        assert completion.choices[0].message.content == "echo: hello there"
    assert upstream.calls["status-503"] == 1  # the second request went straight to echo


def test_a_request_the_upstream_refuses_does_not_fall_back(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    _, client = gateway({"fallbacks": {"s400": ["echo"]}})
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="s400", messages=HELLO)
    assert "echo" not in upstream.calls  # the same request would be refused anywhere


def test_when_every_candidate_fails_the_last_error_is_answered(gateway: Gateway) -> None:
    _, client = gateway({"fallbacks": {"s500": ["s503"]}})
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="s500", messages=HELLO)
    assert caught.value.status_code == 502
    run_id = caught.value.response.headers["x-dispatcher-run-id"]
    assert _kinds(run_id).count("model_fallback") == 2
    assert run_events(run_id)[-1].status == "error"  # type: ignore[union-attr]


def test_a_stream_broken_after_its_first_byte_does_not_fall_back(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    _, client = gateway({"fallbacks": {"broken": ["echo"]}})
    with client.chat.completions.with_streaming_response.create(
        model="broken", messages=HELLO, stream=True
    ) as response:
        assert response.headers["x-dispatcher-route"] == "direct/broken"
        run_id = response.headers["x-dispatcher-run-id"]
        chunks = response.parse()
        first = next(iter(chunks))
        assert first.choices[0].delta.content == "half"
        with pytest.raises(openai.APIError, match="could not be reached"):
            list(chunks)
    assert "echo" not in upstream.calls  # the client already had bytes from `broken`
    kinds = _kinds(run_id)
    assert "model_fallback" not in kinds and "model_retry" not in kinds
    assert run_events(run_id)[-1].status == "error"  # type: ignore[union-attr]
