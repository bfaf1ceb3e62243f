"""Plumbing with the real SmolLM2-135M-Instruct: calls are well formed, tokens are counted by the
runtime, tool results round-trip. Never whether a 135M model's answer is right."""

from __future__ import annotations

import json

import jsonschema
import pytest

from dispatcher.messages import (
    AssistantMessage,
    ForcedTool,
    ModelRequest,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from dispatcher.models.local import LocalModel
from dispatcher.models.local._calls import call_is_valid
from dispatcher.models.local._grammar import call_grammar
from dispatcher.models.local._prompt import render_prompt
from dispatcher.models.local._runtime import load_model
from dispatcher.models.local._weights import resolve_weights

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADD = ToolSpec(
    "add",
    "Add two numbers.",
    {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
)
TOOLS = [WEATHER, ADD]
SCHEMAS = {t.name: t.parameters for t in TOOLS}


def ask(text: str, **fields: object) -> ModelRequest:
    return ModelRequest(
        messages=[UserMessage(text)],
        tools=TOOLS,
        max_output_tokens=64,
        **fields,  # type: ignore[arg-type]
    )


async def test_required_gives_one_call_that_fits_its_schema(smollm2: LocalModel) -> None:
    response = await smollm2.request(ask("What is the weather in Paris?", tool_choice="required"))
    assert len(response.tool_calls) == 1
    assert call_is_valid(response.tool_calls[0], SCHEMAS)
    assert response.finish_reason == "tool_calls"


async def test_a_forced_tool_is_the_one_called(smollm2: LocalModel) -> None:
    response = await smollm2.request(ask("What is 2 plus 3?", tool_choice=ForcedTool("add")))
    (call,) = response.tool_calls
    assert call.name == "add" and call_is_valid(call, SCHEMAS)


async def test_auto_gives_either_text_or_a_valid_call(smollm2: LocalModel) -> None:
    response = await smollm2.request(ask("What is the weather in Oslo?"))
    assert response.text or response.tool_calls
    assert all(call_is_valid(call, SCHEMAS) for call in response.tool_calls)


async def test_usage_is_the_runtimes_own_token_count(smollm2: LocalModel) -> None:
    request = ask("What is the weather in Rome?", tool_choice="required")
    response = await smollm2.request(request)
    loaded = load_model(resolve_weights("smollm2"), n_ctx=4096, n_threads=None)
    assert response.usage.input_tokens == len(loaded.tokenize(render_prompt(request)))
    assert response.usage.output_tokens > 0
    assert response.model == "SmolLM2-135M-Instruct.Q4_1"
    assert response.ttft_ms is not None and 0 < response.ttft_ms <= response.latency_ms


async def test_a_tool_result_round_trips_and_reuses_the_cached_prefix(smollm2: LocalModel) -> None:
    first = await smollm2.request(ask("What is the weather in Lima?", tool_choice="required"))
    (call,) = first.tool_calls
    follow_up = ModelRequest(
        messages=[
            UserMessage("What is the weather in Lima?"),
            AssistantMessage(first.text, (call,)),
            ToolResultMessage(call.id, call.name, "Sunny, 24 C"),
        ],
        tools=TOOLS,
        tool_choice="required",
        max_output_tokens=64,
    )
    second = await smollm2.request(follow_up)
    assert second.usage.input_tokens > first.usage.input_tokens
    # The new turn extends the previous prompt: llama.cpp only evaluates the new tokens.
    assert second.usage.cached_input_tokens >= first.usage.input_tokens - 1
    assert second.tool_calls and all(call_is_valid(c, SCHEMAS) for c in second.tool_calls)


async def test_an_assistant_turn_with_no_text_is_accepted(smollm2: LocalModel) -> None:
    request = ModelRequest(
        messages=[
            UserMessage("Add 2 and 3."),
            AssistantMessage("", (ToolCall("c9", "add", '{"a": 2, "b": 3}'),)),
            ToolResultMessage("c9", "add", "5"),
        ],
        tools=TOOLS,
        tool_choice="none",
        max_output_tokens=32,
    )
    response = await smollm2.request(request)
    assert response.tool_calls == () and response.finish_reason in ("stop", "length")


async def test_a_response_schema_gives_json_that_fits_it(smollm2: LocalModel) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "sunny": {"type": "boolean"}},
        "required": ["city", "sunny"],
        "additionalProperties": False,
    }
    request = ModelRequest(
        messages=[UserMessage("Paris is sunny today. Report it.")],
        response_schema=schema,
        max_output_tokens=48,
    )
    response = await smollm2.request(request)
    jsonschema.validate(json.loads(response.text), schema)


async def test_a_streamed_request_with_tools_still_returns_the_call(smollm2: LocalModel) -> None:
    response = await smollm2.request(ask("Weather in Cairo?", tool_choice="required", stream=True))
    assert len(response.tool_calls) == 1 and call_is_valid(response.tool_calls[0], SCHEMAS)


async def test_unconstrained_decoding_runs_and_is_parsed(smollm2_free: LocalModel) -> None:
    response = await smollm2_free.request(ask("What is the weather in Paris?"))
    assert response.text or response.tool_calls  # valid or not: measured in the benchmark


def test_the_call_grammar_is_accepted_by_llama_cpp(smollm2: LocalModel) -> None:
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(call_grammar(TOOLS, opened=False), verbose=False)


def test_a_grammar_llama_cpp_rejects_is_refused_without_crashing(smollm2: LocalModel) -> None:
    loaded = load_model(resolve_weights("smollm2"), n_ctx=4096, n_threads=None)
    assert not loaded.grammar_parses("root ::= (((")
    assert loaded.grammar_parses('root ::= "yes" | "no"')


async def test_a_schema_without_a_grammar_is_decoded_freely(smollm2: LocalModel) -> None:
    odd = ToolSpec("odd", "A tool with a schema the converter refuses.", {"not": {}})
    response = await smollm2.request(
        ModelRequest(
            messages=[UserMessage("Call odd.")],
            tools=[odd],
            tool_choice="required",
            max_output_tokens=32,
        )
    )
    assert response.text or response.tool_calls
