"""Registry models without OpenAI's wire format (Anthropic) answer through the model seam."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from fake_upstream import ServerThread

from dispatcher import Agent, Dispatcher, Registry
from dispatcher.errors import RetryableProviderError
from dispatcher.gateway import create_app
from dispatcher.messages import (
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from dispatcher.registry.config import parse_registry_config
from dispatcher.testing import FunctionModel

HELLO = [{"role": "user", "content": "hello there"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
seen: list[ModelRequest] = []


def _claude(request: ModelRequest) -> ModelResponse:
    seen.append(request)
    last = request.messages[-1]
    usage = Usage(9, 4)
    if isinstance(last, UserMessage) and last.content == "rate limit me":
        raise RetryableProviderError("slow down", status_code=429, retry_after_s=3)
    if request.tools and isinstance(last, UserMessage):
        call = ToolCall("toolu_1", "get_weather", '{"city": "Paris"}')
        return ModelResponse("", (call,), usage, finish_reason="tool_calls")
    if isinstance(last, ToolResultMessage):
        return ModelResponse(f"{last.name} said {last.content}", usage=usage)
    assert isinstance(last, UserMessage)
    return ModelResponse(f"claude: {last.content}", usage=usage)


@pytest.fixture
def client() -> Iterator[openai.OpenAI]:
    config = {
        "model_list": [{"model_name": "claude", "litellm_params": {"model": "anthropic/c-x"}}],
        "dispatcher": {"tiers": {"strong": "claude"}},
    }
    registry = Registry(parse_registry_config(config))
    registry.register(Agent(name="helper", description="Helps.", tier="strong"))
    registry.use_models({"claude": FunctionModel(_claude, model_id="c-x")})
    server = ServerThread(create_app(Dispatcher(registry))).start()
    seen.clear()
    yield openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="k", max_retries=0)
    server.stop()


def test_text_answers_with_usage_and_the_route_header(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="claude",
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        max_tokens=50,
        temperature=0.2,
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "claude: hello there"
    assert completion.usage is not None and completion.usage.total_tokens == 13
    assert raw.headers["x-dispatcher-route"] == "strong/claude"
    assert seen[0].system == "Be brief." and seen[0].max_output_tokens == 50
    assert seen[0].temperature == 0.2


def test_a_stream_carries_the_whole_answer(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="claude", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "claude: hello there"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 13


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_and_tool_results_make_the_round_trip(
    client: openai.OpenAI, stream: bool
) -> None:
    first = client.chat.completions.create(
        model="claude", messages=HELLO, tools=[WEATHER], tool_choice="auto"
    )
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert seen[-1].tools[0].name == "get_weather"
    assert seen[-1].tools[0].parameters == WEATHER["function"]["parameters"]  # type: ignore[index]
    conversation = [
        *HELLO,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="claude", messages=conversation, tools=[WEATHER], stream=True
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        second = client.chat.completions.create(
            model="claude", messages=conversation, tools=[WEATHER]
        )
        text = second.choices[0].message.content or ""
    assert text == "get_weather said sunny"


def test_a_streamed_tool_call_arrives_as_tool_call_deltas(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="claude", messages=HELLO, tools=[WEATHER], stream=True)
    )
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or ()]
    assert [(t.index, t.function.name) for t in calls] == [(0, "get_weather")]  # type: ignore[union-attr]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_content_it_cannot_carry_is_400(client: openai.OpenAI) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": [image]}]
        )
    assert caught.value.param == "messages.0.content"


def test_a_provider_error_keeps_its_status(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "rate limit me"}]
        )
    assert caught.value.response.headers["retry-after"] == "3"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tool_choice": {"type": "function", "function": "get_weather"}}, "tool_choice"),
        ({"tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": {"type": "function", "function": {"name": "nowhere"}}}, "tool_choice"),
        ({"tools": [{**WEATHER, "function": {"name": "f", "parameters": "x"}}]}, "tools.0"),
        ({"tools": [{**WEATHER, "function": {"name": "f", "parameters": [1]}}]}, "tools.0"),
        ({"messages": [{"role": "assistant", "tool_calls": ["x"]}]}, "messages.0.tool_calls"),
        (
            {"messages": [*HELLO, {"role": "assistant", "tool_calls": {"id": "c1"}}]},
            "messages.1.tool_calls",
        ),
        # A result for a call no assistant message made (OpenAI refuses it too).
        (
            {"messages": [*HELLO, {"role": "tool", "tool_call_id": "nope", "content": "x"}]},
            "messages.1.tool_call_id",
        ),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"n": 2}, "n"),
        # Nothing a model can answer: a system prompt alone (Anthropic needs a message).
        ({"messages": [{"role": "system", "content": "Be brief."}]}, "messages"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"max_completion_tokens": 0, "max_tokens": 10}, "max_completion_tokens"),
        ({"tools": [WEATHER, WEATHER]}, "tools.1"),
        ({"tools": [{"type": "function", "function": {"name": ""}}]}, "tools.0"),
        ({"tools": [], "tool_choice": "required"}, "tool_choice"),
    ],
)
def test_fields_it_cannot_carry_as_sent_are_400_naming_them(
    client: openai.OpenAI, extra: dict[str, object], param: str, stream: bool
) -> None:
    """Never a 500, and never a model call that would silently drop what the client asked."""
    body = {"model": "claude", "messages": HELLO, "tools": [WEATHER], "stream": stream, **extra}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**body)  # type: ignore[call-overload]
    assert caught.value.param == param
    assert seen == []


ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


@pytest.mark.parametrize(
    ("response_format", "schema"),
    [
        (
            {"type": "json_schema", "json_schema": {"name": "a", "schema": ANSWER_SCHEMA}},
            ANSWER_SCHEMA,
        ),
        ({"type": "json_object"}, {"type": "object"}),
        ({"type": "text"}, None),
    ],
)
def test_response_format_reaches_the_model_as_its_response_schema(
    client: openai.OpenAI, response_format: dict[str, object], schema: object
) -> None:
    client.chat.completions.create(
        model="claude",
        messages=HELLO,
        response_format=response_format,  # type: ignore[arg-type]
    )
    assert seen[0].response_schema == schema


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_schema"},
        {"type": "json_schema", "json_schema": {"name": "a", "schema": "x"}},
        {"type": "yaml"},
        "json",
    ],
)
def test_a_response_format_it_cannot_carry_is_400(
    client: openai.OpenAI, response_format: object
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="claude",
            messages=HELLO,
            response_format=response_format,  # type: ignore[arg-type]
        )
    assert caught.value.param == "response_format"
    assert seen == []
