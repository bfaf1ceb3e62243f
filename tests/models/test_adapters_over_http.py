"""Both adapters end to end over real HTTP, against a wire-format server on 127.0.0.1."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from wire_payloads import (
    anthropic_error,
    anthropic_message,
    anthropic_stream,
    openai_completion,
    openai_error,
    openai_stream,
)
from wire_server import Reply, WireServer

from dispatcher.errors import (
    ContextOverflowError,
    ProviderError,
    RetryableProviderError,
    StreamStalledError,
)
from dispatcher.messages import ModelRequest, ToolCall, ToolSpec, UserMessage
from dispatcher.models import AnthropicModel, OpenAIModel, RetryingModel
from dispatcher.trace.sink import MemoryTraceSink

pytestmark = pytest.mark.anyio

ASK = ModelRequest(messages=[UserMessage("hi")])
ECHO = ToolSpec(
    "echo", "Echo text.", {"type": "object", "properties": {"text": {"type": "string"}}}
)
IDLE_S = 0.3


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient() as client:
        yield client


def claude(server: WireServer, http: httpx2.AsyncClient, **options: Any) -> AnthropicModel:
    return AnthropicModel(
        "claude-test", api_key="test-key-123", base_url=server.base_url, http_client=http, **options
    )


def gpt(server: WireServer, http: httpx2.AsyncClient, **options: Any) -> OpenAIModel:
    return OpenAIModel("gpt-test", base_url=f"{server.base_url}/v1", http_client=http, **options)


# ---------------------------------------------------------------- Anthropic Messages


async def test_anthropic_json_answer(wire_server: WireServer, http: httpx2.AsyncClient) -> None:
    wire_server.enqueue(Reply.json(anthropic_message(text="Hi there"), request_id="req_h1"))
    response = await claude(wire_server, http).request(ASK)
    assert (response.text, response.request_id) == ("Hi there", "req_h1")
    sent = wire_server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["anthropic-version"]
    assert sent.body["messages"] == [{"role": "user", "content": "hi"}]


async def test_anthropic_sse_text_and_tool_call(
    wire_server: WireServer, http: httpx2.AsyncClient
) -> None:
    wire_server.enqueue(
        Reply.sse(
            anthropic_stream(
                text_chunks=("Sure", ", echoing."),
                tool=("toolu_1", "echo", ('{"te', 'xt": "hi"}')),
                stop_reason="tool_use",
            ),
            request_id="req_h2",
        )
    )
    request = ModelRequest(messages=[UserMessage("echo hi")], tools=[ECHO], stream=True)
    response = await claude(wire_server, http).request(request)
    assert response.text == "Sure, echoing."
    assert response.tool_calls == (ToolCall("toolu_1", "echo", '{"text": "hi"}'),)
    assert response.finish_reason == "tool_calls"
    assert response.request_id == "req_h2"
    assert response.usage.output_tokens == 7
    assert response.ttft_ms is not None
    assert wire_server.requests[0].body["stream"] is True


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (529, anthropic_error("overloaded_error", "Overloaded"), RetryableProviderError),
        (401, anthropic_error("authentication_error", "invalid x-api-key"), ProviderError),
        (
            400,
            anthropic_error("invalid_request_error", "prompt is too long: 9 > 8"),
            ContextOverflowError,
        ),
    ],
)
async def test_anthropic_error_statuses(
    wire_server: WireServer,
    http: httpx2.AsyncClient,
    status: int,
    body: dict[str, Any],
    error_type: type[ProviderError],
) -> None:
    wire_server.enqueue(Reply.json(body, status, request_id="req_bad"))
    with pytest.raises(ProviderError) as caught:
        await claude(wire_server, http).request(ASK)
    assert type(caught.value) is error_type
    assert (caught.value.status_code, caught.value.request_id) == (status, "req_bad")
    assert len(wire_server.requests) == 1


async def test_anthropic_stalled_stream_fails_within_idle_timeout_and_is_replayed_once(
    wire_server: WireServer, http: httpx2.AsyncClient, trace_sink: MemoryTraceSink
) -> None:
    stalling = Reply.sse(anthropic_stream(text_chunks=("par", "tial")), stall_after=1)
    wire_server.enqueue(stalling, stalling)
    model = RetryingModel(claude(wire_server, http, stream=True, stream_idle_timeout_s=IDLE_S))
    started = time.monotonic()
    with pytest.raises(StreamStalledError):
        await model.request(ASK)
    elapsed = time.monotonic() - started
    assert len(wire_server.requests) == 2  # the first attempt and exactly one replay
    assert elapsed < 2 * IDLE_S + 1.5  # two idle timeouts plus slack, never a hang
    assert [e.kind for e in trace_sink.events] == ["model_retry"]


async def test_anthropic_replay_after_a_stall_can_succeed(
    wire_server: WireServer, http: httpx2.AsyncClient
) -> None:
    wire_server.enqueue(
        Reply.sse(anthropic_stream(text_chunks=("a",)), stall_after=2),
        Reply.sse(anthropic_stream(text_chunks=("done",))),
    )
    model = RetryingModel(claude(wire_server, http, stream=True, stream_idle_timeout_s=IDLE_S))
    response = await model.request(ASK)
    assert (response.text, response.retries) == ("done", 1)


# ---------------------------------------------------------------- OpenAI Chat Completions


async def test_openai_json_answer(wire_server: WireServer, http: httpx2.AsyncClient) -> None:
    wire_server.enqueue(
        Reply.json(openai_completion(text="Hello", cached_tokens=4), x_request_id="req_o1")
    )
    response = await gpt(wire_server, http).request(ASK)
    assert (response.text, response.request_id) == ("Hello", "req_o1")
    assert response.usage.cached_input_tokens == 4
    sent = wire_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer not-needed"


async def test_openai_sse_text_and_tool_call(
    wire_server: WireServer, http: httpx2.AsyncClient
) -> None:
    wire_server.enqueue(Reply.sse(openai_stream(text_chunks=("On ", "it.")), x_request_id="r1"))
    wire_server.enqueue(
        Reply.sse(
            openai_stream(
                tool=("call_1", "echo", ('{"text"', ': "x"}')), finish_reason="tool_calls"
            )
        )
    )
    model = gpt(wire_server, http, stream=True)
    text = await model.request(ASK)
    assert (text.text, text.request_id, text.finish_reason) == ("On it.", "r1", "stop")
    assert text.usage.input_tokens == 30
    tool = await model.request(ModelRequest(messages=[UserMessage("x")], tools=[ECHO]))
    assert tool.tool_calls == (ToolCall("call_1", "echo", '{"text": "x"}'),)
    assert wire_server.requests[1].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (429, openai_error("Rate limit", error_type="requests"), RetryableProviderError),
        (500, openai_error("boom", error_type="server_error"), RetryableProviderError),
        (404, openai_error("model not found", error_type="invalid_request_error"), ProviderError),
        (
            400,
            openai_error("maximum context length is 4096 tokens", error_type="BadRequestError"),
            ContextOverflowError,
        ),
    ],
)
async def test_openai_error_statuses(
    wire_server: WireServer,
    http: httpx2.AsyncClient,
    status: int,
    body: dict[str, Any],
    error_type: type[ProviderError],
) -> None:
    wire_server.enqueue(Reply.json(body, status, x_request_id="req_bad"))
    with pytest.raises(ProviderError) as caught:
        await gpt(wire_server, http).request(ASK)
    assert type(caught.value) is error_type
    assert (caught.value.status_code, caught.value.request_id) == (status, "req_bad")


async def test_openai_stalled_stream_fails_within_idle_timeout(
    wire_server: WireServer, http: httpx2.AsyncClient
) -> None:
    wire_server.enqueue(Reply.sse(openai_stream(text_chunks=("a", "b")), stall_after=1))
    started = time.monotonic()
    with pytest.raises(StreamStalledError):
        await gpt(wire_server, http, stream=True, stream_idle_timeout_s=IDLE_S).request(ASK)
    assert time.monotonic() - started < IDLE_S + 1.5


async def test_openai_retries_429_then_answers(
    wire_server: WireServer, http: httpx2.AsyncClient, trace_sink: MemoryTraceSink
) -> None:
    wire_server.enqueue(
        Reply.json(
            openai_error("Rate limit", error_type="requests"),
            429,
            retry_after="1",
            x_request_id="q1",
        ),
        Reply.json(openai_completion(text="finally")),
    )
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    model = RetryingModel(gpt(wire_server, http), sleep=record, rng=random.Random(0))
    response = await model.request(ASK)
    assert (response.text, response.retries, delays) == ("finally", 1, [1.0])
    (event,) = trace_sink.events
    assert event.model_dump(include={"kind", "status_code", "request_id", "delay_s"}) == {
        "kind": "model_retry",
        "status_code": 429,
        "request_id": "q1",
        "delay_s": 1.0,
    }
