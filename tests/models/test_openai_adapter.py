"""OpenAIModel through the real openai SDK, with an httpx2.MockTransport underneath."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mock_wire import MockWire, json_response, sse_response, stalling_sse_response
from wire_payloads import data_line, openai_completion, openai_error, openai_stream

from dispatcher.errors import (
    ConfigError,
    ContextOverflowError,
    ModelConnectionError,
    ProviderError,
    RetryableProviderError,
    StreamStalledError,
    UnexpectedModelCall,
)
from dispatcher.messages import (
    AssistantMessage,
    ForcedTool,
    ModelRequest,
    ToolCall,
    ToolChoice,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from dispatcher.models import Model, OpenAIModel
from dispatcher.models._guard import block_real_models

pytestmark = pytest.mark.anyio

LOOKUP = ToolSpec(
    name="lookup",
    description="Look a word up.",
    parameters={"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
)
HELLO = ModelRequest(messages=[UserMessage("hi")], system="Be brief.")


async def ask(wire: MockWire, request: ModelRequest = HELLO, **options: Any) -> Any:
    options.setdefault("api_key", "test-key-123")
    async with wire.client() as http:
        model = OpenAIModel("gpt-test", http_client=http, **options)
        return await model.request(request)


async def test_plain_text_answer_is_normalized() -> None:
    wire = MockWire(json_response(openai_completion(text="Hello!"), x_request_id="req_o1"))
    response = await ask(wire, ModelRequest(messages=[UserMessage("hi")], max_output_tokens=50))
    assert response.text == "Hello!"
    assert response.finish_reason == "stop"
    assert response.model == "gpt-test"
    assert response.request_id == "req_o1"
    assert response.usage.input_tokens == 20 and response.usage.output_tokens == 6
    assert response.latency_ms > 0
    assert wire.body() == {
        "model": "gpt-test",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 50,
    }
    assert str(wire.requests[0].url) == "https://api.openai.com/v1/chat/completions"
    assert wire.requests[0].headers["authorization"] == "Bearer test-key-123"


async def test_is_a_model_with_no_extra_public_methods() -> None:
    model = OpenAIModel("gpt-test")
    assert isinstance(model, Model)
    public = {name for name in dir(model) if not name.startswith("_")}
    assert public == {"model_id", "request"}


async def test_tool_round_trip_sends_exact_wire_json() -> None:
    raw_arguments = '{"word":  "ephemeral"}'  # odd spacing must survive untouched
    wire = MockWire(
        json_response(
            openai_completion(
                text=None,
                tool_calls=(("call_2", "lookup", raw_arguments),),
                finish_reason="tool_calls",
            )
        )
    )
    request = ModelRequest(
        system="You define words.",
        messages=[
            UserMessage("Define two words."),
            AssistantMessage(
                tool_calls=(
                    ToolCall("call_a", "lookup", '{"word": "terse"}'),
                    ToolCall("call_b", "lookup", '{"word": "zzz"}'),
                )
            ),
            ToolResultMessage("call_a", "lookup", "brief"),
            ToolResultMessage("call_b", "lookup", "no such word", is_error=True),
        ],
        tools=[LOOKUP],
        tool_choice=ForcedTool("lookup"),
        temperature=0.0,
    )
    response = await ask(wire, request)
    assert wire.body() == {
        "model": "gpt-test",
        "temperature": 0.0,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "description": "Look a word up.",
                    "parameters": LOOKUP.parameters,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "messages": [
            {"role": "system", "content": "You define words."},
            {"role": "user", "content": "Define two words."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"word": "terse"}'},
                    },
                    {
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"word": "zzz"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": "brief"},
            {"role": "tool", "tool_call_id": "call_b", "content": "[tool error] no such word"},
        ],
    }
    assert response.text == ""
    assert response.tool_calls == (ToolCall("call_2", "lookup", raw_arguments),)
    assert response.finish_reason == "tool_calls"


@pytest.mark.parametrize("choice", ["auto", "required", "none"])
async def test_tool_choice_strings_pass_through(choice: ToolChoice) -> None:
    wire = MockWire(json_response(openai_completion(text="ok")))
    await ask(wire, ModelRequest(messages=[UserMessage("x")], tools=[LOOKUP], tool_choice=choice))
    assert wire.body()["tool_choice"] == choice


async def test_compatible_server_saying_stop_after_a_tool_call_reads_as_tool_calls() -> None:
    wire = MockWire(
        json_response(openai_completion(tool_calls=(("c1", "lookup", "{}"),), finish_reason="stop"))
    )
    response = await ask(wire, ModelRequest(messages=[UserMessage("x")], tools=[LOOKUP]))
    assert response.finish_reason == "tool_calls"


async def test_usage_reports_cached_prompt_tokens() -> None:
    wire = MockWire(
        json_response(
            openai_completion(
                text="ok", prompt_tokens=1200, completion_tokens=3, cached_tokens=1024
            )
        )
    )
    response = await ask(wire)
    assert response.usage.input_tokens == 1200
    assert response.usage.cached_input_tokens == 1024
    assert response.usage.output_tokens == 3


async def test_response_schema_is_sent_as_json_schema_format() -> None:
    wire = MockWire(json_response(openai_completion(text='{"n": 1}')))
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    await ask(wire, ModelRequest(messages=[UserMessage("x")], response_schema=schema))
    assert wire.body()["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema},
    }


async def test_compatible_server_gets_max_tokens_and_a_placeholder_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key-must-not-leak")
    wire = MockWire(json_response(openai_completion(text="ok")))
    request = ModelRequest(messages=[UserMessage("x")], max_output_tokens=64)
    await ask(wire, request, api_key=None, base_url="http://127.0.0.1:11434/v1")
    sent = wire.requests[0]
    assert str(sent.url) == "http://127.0.0.1:11434/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer not-needed"
    assert wire.body()["max_tokens"] == 64
    assert "max_completion_tokens" not in wire.body()


async def test_adapter_default_max_tokens_applies_when_the_request_sets_none() -> None:
    wire = MockWire(json_response(openai_completion(text="ok")))
    await ask(wire, max_output_tokens=99)
    assert wire.body()["max_completion_tokens"] == 99


async def test_real_calls_are_refused_while_blocked() -> None:
    wire = MockWire()
    with block_real_models(), pytest.raises(UnexpectedModelCall, match="gpt-test"):
        await ask(wire)
    assert wire.requests == []


async def test_missing_key_is_a_config_error_naming_the_env_var() -> None:
    wire = MockWire()
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        await ask(wire, api_key=None)
    assert wire.requests == []


async def test_streamed_text_is_assembled_with_usage_and_ttft() -> None:
    wire = MockWire(
        sse_response(
            openai_stream(text_chunks=("Hel", "lo"), cached_tokens=16), x_request_id="req_st"
        )
    )
    response = await ask(wire, stream=True)
    assert wire.body()["stream"] is True
    assert wire.body()["stream_options"] == {"include_usage": True}
    assert response.text == "Hello"
    assert response.finish_reason == "stop"
    assert response.request_id == "req_st"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (30, 9)
    assert response.usage.cached_input_tokens == 16
    assert response.ttft_ms is not None and 0 < response.ttft_ms <= response.latency_ms


async def test_streamed_tool_call_arguments_are_joined() -> None:
    wire = MockWire(
        sse_response(
            openai_stream(
                tool=("call_s", "lookup", ('{"wo', 'rd": "x"}')), finish_reason="tool_calls"
            )
        )
    )
    response = await ask(
        wire, ModelRequest(messages=[UserMessage("x")], tools=[LOOKUP]), stream=True
    )
    assert response.tool_calls == (ToolCall("call_s", "lookup", '{"word": "x"}'),)
    assert response.finish_reason == "tool_calls"


async def test_stream_without_finish_reason_is_a_connection_error() -> None:
    wire = MockWire(sse_response(openai_stream(text_chunks=("a",))[:2]))
    with pytest.raises(ModelConnectionError, match="finish_reason"):
        await ask(wire, stream=True)


async def test_error_object_inside_a_stream_is_retryable() -> None:
    chunks = [
        *openai_stream(text_chunks=("a",))[:2],
        data_line(openai_error("overloaded", error_type="server_error")),
    ]
    wire = MockWire(sse_response(chunks))
    with pytest.raises(RetryableProviderError, match="overloaded"):
        await ask(wire, stream=True)


async def test_stalled_stream_raises_within_the_idle_timeout() -> None:
    wire = MockWire(stalling_sse_response(openai_stream(text_chunks=("a",))[0]))
    with pytest.raises(StreamStalledError):
        await ask(wire, stream=True, stream_idle_timeout_s=0.2)


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_type", "retry_after"),
    [
        (
            400,
            openai_error("bad value", error_type="invalid_request_error"),
            {},
            ProviderError,
            None,
        ),
        (
            401,
            openai_error(
                "Incorrect API key", error_type="invalid_request_error", code="invalid_api_key"
            ),
            {},
            ProviderError,
            None,
        ),
        (
            404,
            openai_error(
                "no such model", error_type="invalid_request_error", code="model_not_found"
            ),
            {},
            ProviderError,
            None,
        ),
        (
            429,
            openai_error("Rate limit", error_type="requests", code="rate_limit_exceeded"),
            {"retry-after": "3"},
            RetryableProviderError,
            3.0,
        ),
        (
            500,
            openai_error("server error", error_type="server_error"),
            {},
            RetryableProviderError,
            None,
        ),
        (
            503,
            openai_error("overloaded", error_type="server_error"),
            {"retry-after-ms": "250"},
            RetryableProviderError,
            0.25,
        ),
        (
            400,
            openai_error(
                "This model's maximum context length is 8192 tokens.",
                error_type="invalid_request_error",
                code="context_length_exceeded",
            ),
            {},
            ContextOverflowError,
            None,
        ),
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "the request exceeds the available context size",
                    "type": "exceed_context_size_error",
                }
            },
            {},
            ContextOverflowError,
            None,
        ),
    ],
)
async def test_error_statuses_map_to_typed_errors(
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    error_type: type[ProviderError],
    retry_after: float | None,
) -> None:
    wire = MockWire(
        httpx2.Response(status, json=body, headers={"x-request-id": "req_e", **headers})
    )
    with pytest.raises(ProviderError) as caught:
        await ask(wire)
    error = caught.value
    assert type(error) is error_type
    assert error.status_code == status
    assert error.request_id == "req_e"
    assert error.retry_after_s == retry_after
    assert len(wire.requests) == 1  # the SDK itself never retries


async def test_error_messages_are_redacted() -> None:
    leaked = "sk-proj-abcdefghijklmnopqrstuvwx"
    wire = MockWire(
        json_response(
            openai_error(
                f"Incorrect API key provided: {leaked}", error_type="invalid_request_error"
            ),
            401,
        )
    )
    with pytest.raises(ProviderError) as caught:
        await ask(wire)
    assert leaked not in str(caught.value)


async def test_timeout_is_a_connection_error() -> None:
    wire = MockWire(httpx2.ReadTimeout("read timed out"))
    with pytest.raises(ModelConnectionError, match="timed out"):
        await ask(wire)
