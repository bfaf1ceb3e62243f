"""AnthropicModel through the real anthropic SDK, with an httpx2.MockTransport underneath."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mock_wire import MockWire, json_response, sse_response, stalling_sse_response
from wire_payloads import anthropic_error, anthropic_message, anthropic_stream, sse_event

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
from dispatcher.models import AnthropicModel, Model
from dispatcher.models._guard import block_real_models

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
HELLO = ModelRequest(messages=[UserMessage("hi")], system="Be brief.")


async def ask(wire: MockWire, request: ModelRequest = HELLO, **options: Any) -> Any:
    async with wire.client() as http:
        model = AnthropicModel("claude-test", api_key="test-key-123", http_client=http, **options)
        return await model.request(request)


async def test_plain_text_answer_is_normalized() -> None:
    wire = MockWire(json_response(anthropic_message(text="Hello!"), request_id="req_abc"))
    response = await ask(wire)
    assert response.text == "Hello!"
    assert response.tool_calls == ()
    assert response.finish_reason == "stop"
    assert response.model == "claude-test"
    assert response.request_id == "req_abc"
    assert response.latency_ms > 0
    assert response.ttft_ms is None
    assert wire.body() == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
        "system": "Be brief.",
    }
    assert str(wire.requests[0].url) == "https://api.anthropic.com/v1/messages"


async def test_is_a_model_and_builds_no_client_on_construction() -> None:
    model = AnthropicModel("claude-test")  # no key anywhere: construction must not care
    assert isinstance(model, Model)
    assert model.model_id == "claude-test"
    assert "key" not in repr(model)
    public = {name for name in dir(model) if not name.startswith("_")}
    assert public == {"model_id", "request"}


async def test_tool_round_trip_sends_exact_wire_json() -> None:
    wire = MockWire(
        json_response(
            anthropic_message(
                text="Checking.",
                tool_uses=(("toolu_2", "get_weather", {"city": "Oslo"}),),
                stop_reason="tool_use",
            )
        )
    )
    request = ModelRequest(
        system="You are a weather bot.",
        messages=[
            UserMessage("Weather in Paris and Rome?"),
            AssistantMessage(
                text="Let me look.",
                tool_calls=(
                    ToolCall("toolu_a", "get_weather", '{"city": "Paris"}'),
                    ToolCall("toolu_b", "get_weather", '{"city": "Rome"}'),
                ),
            ),
            ToolResultMessage("toolu_a", "get_weather", "18C"),
            ToolResultMessage("toolu_b", "get_weather", "unknown city", is_error=True),
            UserMessage("And Oslo?"),
        ],
        tools=[WEATHER],
        tool_choice=ForcedTool("get_weather"),
        max_output_tokens=256,
        temperature=0.2,
    )
    response = await ask(wire, request)
    assert wire.body() == {
        "model": "claude-test",
        "max_tokens": 256,
        "temperature": 0.2,
        "system": "You are a weather bot.",
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "input_schema": WEATHER.parameters,
            }
        ],
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {
                        "type": "tool_use",
                        "id": "toolu_a",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_b",
                        "name": "get_weather",
                        "input": {"city": "Rome"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_a", "content": "18C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_b",
                        "content": "unknown city",
                        "is_error": True,
                    },
                    {"type": "text", "text": "And Oslo?"},
                ],
            },
        ],
    }
    assert response.text == "Checking."
    assert response.tool_calls == (ToolCall("toolu_2", "get_weather", '{"city": "Oslo"}'),)
    assert json.loads(response.tool_calls[0].arguments) == {"city": "Oslo"}
    assert response.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("choice", "wire_choice"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        (ForcedTool("get_weather"), {"type": "tool", "name": "get_weather"}),
    ],
)
async def test_tool_choice_mapping(choice: ToolChoice, wire_choice: dict[str, str]) -> None:
    wire = MockWire(json_response(anthropic_message(text="ok")))
    await ask(wire, ModelRequest(messages=[UserMessage("x")], tools=[WEATHER], tool_choice=choice))
    assert wire.body()["tool_choice"] == wire_choice


async def test_forced_tool_without_tools_is_a_config_error() -> None:
    wire = MockWire()
    with pytest.raises(ConfigError, match="needs at least one tool"):
        await ask(wire, ModelRequest(messages=[UserMessage("x")], tool_choice="required"))
    assert wire.requests == []


async def test_invalid_tool_arguments_from_another_model_are_kept_as_text() -> None:
    wire = MockWire(json_response(anthropic_message(text="ok")))
    history = [
        UserMessage("go"),
        AssistantMessage(tool_calls=(ToolCall("c1", "get_weather", '{"city": "Par'),)),
        ToolResultMessage("c1", "get_weather", "invalid JSON", is_error=True),
    ]
    await ask(wire, ModelRequest(messages=history, tools=[WEATHER]))
    tool_use = wire.body()["messages"][1]["content"][0]
    assert tool_use["input"] == {"raw_arguments": '{"city": "Par'}


async def test_usage_counts_cache_reads_inside_input_tokens() -> None:
    wire = MockWire(
        json_response(
            anthropic_message(
                text="ok", input_tokens=10, output_tokens=4, cache_read=90, cache_creation=5
            )
        )
    )
    response = await ask(wire)
    assert response.usage.input_tokens == 105
    assert response.usage.cached_input_tokens == 90
    assert response.usage.output_tokens == 4


async def test_response_schema_becomes_a_system_instruction() -> None:
    wire = MockWire(json_response(anthropic_message(text='{"answer": 4}')))
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}}
    await ask(
        wire, ModelRequest(messages=[UserMessage("2+2?")], system="Math.", response_schema=schema)
    )
    system = wire.body()["system"]
    assert system.startswith("Math.\n\n")
    assert json.dumps(schema, sort_keys=True) in system
    assert "JSON" in system


async def test_streamed_text_is_assembled_with_ttft() -> None:
    wire = MockWire(
        sse_response(
            anthropic_stream(text_chunks=("Hel", "lo", "!"), cache_read=8), request_id="req_s"
        )
    )
    response = await ask(wire, stream=True)
    assert wire.body()["stream"] is True
    assert response.text == "Hello!"
    assert response.finish_reason == "stop"
    assert response.request_id == "req_s"
    assert response.usage.input_tokens == 20  # 12 uncached + 8 cache reads
    assert response.usage.cached_input_tokens == 8
    assert response.usage.output_tokens == 7
    assert response.ttft_ms is not None and 0 < response.ttft_ms <= response.latency_ms


async def test_request_stream_flag_streams_too() -> None:
    wire = MockWire(sse_response(anthropic_stream(text_chunks=("yes",))))
    response = await ask(wire, ModelRequest(messages=[UserMessage("x")], stream=True))
    assert wire.body()["stream"] is True
    assert response.text == "yes"


async def test_streamed_tool_call_arguments_are_joined() -> None:
    pieces = ('{"ci', 'ty": ', '"Oslo"}')
    wire = MockWire(
        sse_response(
            anthropic_stream(
                text_chunks=("Let me check.",),
                tool=("toolu_9", "get_weather", pieces),
                stop_reason="tool_use",
            )
        )
    )
    response = await ask(
        wire, ModelRequest(messages=[UserMessage("x")], tools=[WEATHER]), stream=True
    )
    assert response.text == "Let me check."
    assert response.tool_calls == (ToolCall("toolu_9", "get_weather", '{"city": "Oslo"}'),)
    assert response.finish_reason == "tool_calls"


async def test_stream_error_event_maps_to_retryable_overload() -> None:
    error = sse_event("error", anthropic_error("overloaded_error", "Overloaded"))
    chunks = [*anthropic_stream(text_chunks=("par",))[:3], error]
    wire = MockWire(sse_response(chunks, request_id="req_mid"))
    with pytest.raises(RetryableProviderError) as caught:
        await ask(wire, stream=True)
    assert caught.value.status_code == 529


async def test_stream_cut_before_message_stop_is_a_connection_error() -> None:
    wire = MockWire(sse_response(anthropic_stream(text_chunks=("par",))[:4]))
    with pytest.raises(ModelConnectionError, match="message_stop"):
        await ask(wire, stream=True)


async def test_stalled_stream_raises_within_the_idle_timeout() -> None:
    first = anthropic_stream(text_chunks=("x",))[0]
    wire = MockWire(stalling_sse_response(first))
    with pytest.raises(StreamStalledError, match=r"0\.2 s"):
        await ask(wire, stream=True, stream_idle_timeout_s=0.2)


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_type", "retry_after"),
    [
        (400, anthropic_error("invalid_request_error", "bad field"), {}, ProviderError, None),
        (
            401,
            anthropic_error("authentication_error", "invalid x-api-key"),
            {},
            ProviderError,
            None,
        ),
        (404, anthropic_error("not_found_error", "model: nope"), {}, ProviderError, None),
        (
            429,
            anthropic_error("rate_limit_error", "slow down"),
            {"retry-after": "7"},
            RetryableProviderError,
            7.0,
        ),
        (500, anthropic_error("api_error", "boom"), {}, RetryableProviderError, None),
        (
            529,
            anthropic_error("overloaded_error", "Overloaded"),
            {"retry-after-ms": "1500"},
            RetryableProviderError,
            1.5,
        ),
        (
            400,
            anthropic_error(
                "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"
            ),
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
        httpx2.Response(status, json=body, headers={"request-id": "req_err", **headers})
    )
    with pytest.raises(ProviderError) as caught:
        await ask(wire)
    error = caught.value
    assert type(error) is error_type
    assert error.status_code == status
    assert error.request_id == "req_err"
    assert error.retry_after_s == retry_after
    assert error.model == "claude-test"
    assert len(wire.requests) == 1  # the SDK itself never retries


async def test_error_messages_are_redacted() -> None:
    leaked = "sk-ant-api03-abcdefghijklmnop"
    wire = MockWire(
        json_response(anthropic_error("authentication_error", f"bad key {leaked}"), 401)
    )
    with pytest.raises(ProviderError) as caught:
        await ask(wire)
    assert leaked not in str(caught.value)
    assert "[REDACTED]" in str(caught.value)


async def test_real_calls_are_refused_while_blocked() -> None:
    wire = MockWire()
    with block_real_models(), pytest.raises(UnexpectedModelCall, match="claude-test"):
        await ask(wire)
    assert wire.requests == []


async def test_connection_failure_is_a_connection_error() -> None:
    wire = MockWire(httpx2.ConnectError("connection refused"))
    with pytest.raises(ModelConnectionError, match="ConnectError"):
        await ask(wire)


async def test_no_credentials_is_a_config_error_naming_the_env_var(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no credentials profile on disk either
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    wire = MockWire()
    async with wire.client() as http:
        model = AnthropicModel("claude-test", http_client=http)
        with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
            await model.request(HELLO)
    assert wire.requests == []


async def test_broken_credentials_profile_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))  # points at no profile
    model = AnthropicModel("claude-test")
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        await model.request(HELLO)


async def test_base_url_without_key_sends_a_placeholder() -> None:
    wire = MockWire(json_response(anthropic_message(text="ok")))
    async with wire.client() as http:
        model = AnthropicModel("claude-test", base_url="http://gateway.local", http_client=http)
        await model.request(HELLO)
    assert str(wire.requests[0].url) == "http://gateway.local/v1/messages"


def test_importing_the_adapters_does_not_import_the_sdks() -> None:
    code = (
        "import sys, dispatcher.models, dispatcher.models.factory\n"
        "dispatcher.models.AnthropicModel('m'); dispatcher.models.OpenAIModel('m')\n"
        "print(sorted(m for m in ('anthropic', 'openai', 'httpx2') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
        env={"PYTHONPATH": str(root)},
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "arguments", ['{"key": ' + "9" * 5000 + "}", "[" * 100_000 + "]" * 100_000]
)
def test_history_with_arguments_json_cannot_parse_safely_still_goes_out(arguments: str) -> None:
    """Another model's tool call in the history (a 5000-digit integer, a 100k-deep nesting)
    is sent as raw arguments, not a ValueError or RecursionError that ends the run."""
    from dispatcher.models._anthropic_wire import _tool_input

    assert _tool_input(arguments) == {"raw_arguments": arguments}
