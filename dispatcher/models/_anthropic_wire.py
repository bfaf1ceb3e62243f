"""ModelRequest -> Anthropic Messages API parameters, and Anthropic answers -> ModelResponse.

Pure functions and one stream assembler; the SDK is only imported for type checking, so this
module stays importable without `anthropic` installed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dispatcher._model_json import loads_model_json
from dispatcher.messages import (
    AssistantMessage,
    FinishReason,
    ForcedTool,
    Message,
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolChoice,
    ToolResultMessage,
    ToolSpec,
    Usage,
    UserMessage,
)
from dispatcher.models._request_checks import check_tool_choice

if TYPE_CHECKING:
    from anthropic.types import Message as WireMessage
    from anthropic.types import RawMessageStreamEvent

__all__ = [
    "AnthropicStreamAssembler",
    "finish_reason",
    "json_instruction",
    "request_params",
    "response_from_message",
    "usage",
]

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
}


def json_instruction(schema: Mapping[str, Any]) -> str:
    """The system-prompt paragraph that asks for JSON where the API cannot enforce a schema."""
    return (
        "Answer with a single JSON value that matches this JSON Schema. Output only the JSON: "
        "no prose, no code fences.\n" + json.dumps(schema, sort_keys=True)
    )


def _tool_input(arguments: str) -> dict[str, Any]:
    """Anthropic wants a JSON object; history from another model may hold invalid JSON."""
    try:
        parsed = loads_model_json(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:  # also a number too long or nesting too deep to parse
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    # Keep what the model tried so the next model sees it, rather than silently dropping it.
    return {"raw_arguments": arguments}


def _messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Wire turns: tool results and user text that follow each other share one user turn."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, AssistantMessage):
            blocks: list[dict[str, Any]] = []
            if message.text:
                blocks.append({"type": "text", "text": message.text})
            blocks.extend(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.name,
                    "input": _tool_input(call.arguments),
                }
                for call in message.tool_calls
            )
            if blocks:  # the API rejects empty assistant content
                turns.append({"role": "assistant", "content": blocks})
            continue
        block: dict[str, Any]
        if isinstance(message, ToolResultMessage):
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            if message.is_error:
                block["is_error"] = True
        elif isinstance(message, UserMessage):
            block = {"type": "text", "text": message.content}
        else:  # pragma: no cover - Message is a closed union
            raise TypeError(f"unknown message type {type(message).__name__}")
        if turns and turns[-1]["role"] == "user":
            turns[-1]["content"].append(block)
        else:
            turns.append({"role": "user", "content": [block]})
    # A lone user text is sent as a plain string: the most common shape, and the easiest to read.
    for turn in turns:
        content = turn["content"]
        if turn["role"] == "user" and len(content) == 1 and content[0]["type"] == "text":
            turn["content"] = content[0]["text"]
    return turns


def _tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {"name": spec.name, "description": spec.description, "input_schema": dict(spec.parameters)}
        for spec in tools
    ]


def _tool_choice(choice: ToolChoice) -> dict[str, Any]:
    if isinstance(choice, ForcedTool):
        return {"type": "tool", "name": choice.name}
    return {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}[choice]


def request_params(
    request: ModelRequest, *, model_id: str, default_max_tokens: int
) -> dict[str, Any]:
    """Keyword arguments for `client.messages.create` (without `stream`)."""
    check_tool_choice(request)
    params: dict[str, Any] = {
        "model": model_id,
        "max_tokens": request.max_output_tokens or default_max_tokens,
        "messages": _messages(request.messages),
    }
    system = request.system
    if request.response_schema is not None:
        instruction = json_instruction(request.response_schema)
        system = f"{system}\n\n{instruction}" if system else instruction
    if system:
        params["system"] = system
    if request.tools:
        params["tools"] = _tools(request.tools)
        params["tool_choice"] = _tool_choice(request.tool_choice)
    if request.temperature is not None:
        # anthropic 2.x has no `temperature` argument; the Messages API still takes the field.
        params["extra_body"] = {"temperature": request.temperature}
    return params


def finish_reason(stop_reason: str | None, has_tool_calls: bool) -> FinishReason:
    """Normalize Anthropic's stop_reason; a tool call always reads as `tool_calls`."""
    reason = _STOP_REASONS.get(stop_reason or "", "other")
    return "tool_calls" if has_tool_calls and reason == "stop" else reason


def usage(
    input_tokens: int, output_tokens: int, cache_read: int | None, cache_creation: int | None
) -> Usage:
    """Anthropic's input_tokens exclude cache reads and writes; ours is the total input."""
    read = cache_read or 0
    total_input = input_tokens + read + (cache_creation or 0)
    return Usage(input_tokens=total_input, output_tokens=output_tokens, cached_input_tokens=read)


def response_from_message(message: WireMessage, *, latency_ms: float) -> ModelResponse:
    """Normalize a non-streamed Messages API answer."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append(ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input)))
    wire_usage = message.usage
    return ModelResponse(
        text="".join(texts),
        tool_calls=tuple(calls),
        usage=usage(
            wire_usage.input_tokens,
            wire_usage.output_tokens,
            wire_usage.cache_read_input_tokens,
            wire_usage.cache_creation_input_tokens,
        ),
        finish_reason=finish_reason(message.stop_reason, bool(calls)),
        model=message.model,
        latency_ms=latency_ms,
        request_id=message._request_id,
    )


@dataclass
class _Block:
    kind: str
    text: list[str] = field(default_factory=list)
    tool_id: str = ""
    tool_name: str = ""
    initial_input: dict[str, Any] | None = None


@dataclass
class AnthropicStreamAssembler:
    """Folds raw Messages stream events into one ModelResponse."""

    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int | None = None
    cache_creation: int | None = None
    stop_reason: str | None = None
    complete: bool = False
    blocks: dict[int, _Block] = field(default_factory=dict)

    def feed(self, event: RawMessageStreamEvent) -> bool:
        """Take one event; True if it carried generated content (for time to first token)."""
        if event.type == "message_start":
            self.model = event.message.model
            start = event.message.usage
            self.input_tokens = start.input_tokens
            self.output_tokens = start.output_tokens
            self.cache_read = start.cache_read_input_tokens
            self.cache_creation = start.cache_creation_input_tokens
        elif event.type == "content_block_start":
            block = event.content_block
            if block.type == "text":
                self.blocks[event.index] = _Block("text", [block.text] if block.text else [])
            elif block.type == "tool_use":
                self.blocks[event.index] = _Block(
                    "tool_use", tool_id=block.id, tool_name=block.name, initial_input=block.input
                )
        elif event.type == "content_block_delta":
            target = self.blocks.get(event.index)
            delta = event.delta
            if target is not None and delta.type == "text_delta":
                target.text.append(delta.text)
            elif target is not None and delta.type == "input_json_delta":
                target.text.append(delta.partial_json)
            return True
        elif event.type == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            final = event.usage
            self.output_tokens = final.output_tokens
            # Later API versions repeat the input counts here; they are authoritative if present.
            if final.input_tokens is not None:
                self.input_tokens = final.input_tokens
            if final.cache_read_input_tokens is not None:
                self.cache_read = final.cache_read_input_tokens
            if final.cache_creation_input_tokens is not None:
                self.cache_creation = final.cache_creation_input_tokens
        elif event.type == "message_stop":
            self.complete = True
        return False

    def response(
        self, *, latency_ms: float, ttft_ms: float | None, request_id: str | None
    ) -> ModelResponse:
        texts: list[str] = []
        calls: list[ToolCall] = []
        for _, block in sorted(self.blocks.items()):
            if block.kind == "text":
                texts.append("".join(block.text))
                continue
            arguments = "".join(block.text)
            if not arguments:
                arguments = json.dumps(block.initial_input or {})
            calls.append(ToolCall(id=block.tool_id, name=block.tool_name, arguments=arguments))
        return ModelResponse(
            text="".join(texts),
            tool_calls=tuple(calls),
            usage=usage(
                self.input_tokens, self.output_tokens, self.cache_read, self.cache_creation
            ),
            finish_reason=finish_reason(self.stop_reason, bool(calls)),
            model=self.model,
            latency_ms=latency_ms,
            ttft_ms=ttft_ms,
            request_id=request_id,
        )
