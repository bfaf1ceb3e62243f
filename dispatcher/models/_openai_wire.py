"""ModelRequest -> Chat Completions parameters, and Chat Completions answers -> ModelResponse.

Pure functions and one stream assembler; the SDK is only imported for type checking, so this
module stays importable without `openai` installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dispatcher.errors import MalformedResponseError
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
    from openai.types import CompletionUsage
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

__all__ = [
    "OpenAIStreamAssembler",
    "finish_reason",
    "request_params",
    "response_from_completion",
    "usage",
]

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
TOOL_ERROR_PREFIX = "[tool error] "


def _messages(system: str, messages: Sequence[Message]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    if system:
        wire.append({"role": "system", "content": system})
    for message in messages:
        if isinstance(message, UserMessage):
            wire.append({"role": "user", "content": message.content})
        elif isinstance(message, AssistantMessage):
            turn: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                turn["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in message.tool_calls
                ]
            elif not message.text:
                turn["content"] = ""  # the API needs content or tool_calls
            wire.append(turn)
        elif isinstance(message, ToolResultMessage):
            # Chat Completions has no error flag on tool results; say it in the content.
            content = TOOL_ERROR_PREFIX + message.content if message.is_error else message.content
            wire.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": content})
        else:  # pragma: no cover - Message is a closed union
            raise TypeError(f"unknown message type {type(message).__name__}")
    return wire


def _tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": dict(spec.parameters),
            },
        }
        for spec in tools
    ]


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, ForcedTool):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def request_params(
    request: ModelRequest,
    *,
    model_id: str,
    max_tokens_field: str,
    default_max_tokens: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `client.chat.completions.create` (without `stream`).

    `max_tokens_field` is `max_completion_tokens` for OpenAI itself (its newer models reject
    `max_tokens`) and `max_tokens` for OpenAI-compatible servers, which all understand it.
    """
    check_tool_choice(request)
    params: dict[str, Any] = {
        "model": model_id,
        "messages": _messages(request.system, request.messages),
    }
    if request.tools:
        params["tools"] = _tools(request.tools)
        params["tool_choice"] = _tool_choice(request.tool_choice)
    max_tokens = request.max_output_tokens or default_max_tokens
    if max_tokens is not None:
        params[max_tokens_field] = max_tokens
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.response_schema is not None:
        params["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": dict(request.response_schema)},
        }
    return params


def finish_reason(reason: str | None, has_tool_calls: bool) -> FinishReason:
    """Normalize; some compatible servers say `stop` after a tool call, which we fix up."""
    normalized = _FINISH_REASONS.get(reason or "", "other")
    return "tool_calls" if has_tool_calls and normalized == "stop" else normalized


def usage(wire: CompletionUsage | None) -> Usage:
    if wire is None:
        return Usage()
    details = wire.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details is not None else 0
    return Usage(
        input_tokens=wire.prompt_tokens,
        output_tokens=wire.completion_tokens,
        cached_input_tokens=cached,
    )


def response_from_completion(
    completion: ChatCompletion, *, model_id: str, latency_ms: float
) -> ModelResponse:
    """Normalize a non-streamed Chat Completions answer (the first choice)."""
    if not completion.choices:
        raise MalformedResponseError(
            "the response has no choices",
            model=model_id,
            status_code=200,
            request_id=completion._request_id,
        )
    choice = completion.choices[0]
    message = choice.message
    calls = tuple(
        ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
        for call in message.tool_calls or ()
        if call.type == "function"
    )
    return ModelResponse(
        text=message.content or "",
        tool_calls=calls,
        usage=usage(completion.usage),
        finish_reason=finish_reason(choice.finish_reason, bool(calls)),
        model=completion.model or model_id,
        latency_ms=latency_ms,
        request_id=completion._request_id,
    )


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class OpenAIStreamAssembler:
    """Folds Chat Completions chunks (first choice) into one ModelResponse."""

    model: str = ""
    text: list[str] = field(default_factory=list)
    calls: dict[int, _PartialCall] = field(default_factory=dict)
    reason: str | None = None
    wire_usage: CompletionUsage | None = None

    def feed(self, chunk: ChatCompletionChunk) -> bool:
        """Take one chunk; True if it carried generated content (for time to first token)."""
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.wire_usage = chunk.usage
        produced = False
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                self.text.append(delta.content)
                produced = True
            for part in delta.tool_calls or ():
                call = self.calls.setdefault(part.index, _PartialCall())
                call.id = part.id or call.id
                if part.function is not None:
                    call.name = part.function.name or call.name
                    if part.function.arguments:
                        call.arguments.append(part.function.arguments)
                produced = True
            if choice.finish_reason is not None:
                self.reason = choice.finish_reason
        return produced

    @property
    def complete(self) -> bool:
        return self.reason is not None

    def response(
        self, *, model_id: str, latency_ms: float, ttft_ms: float | None, request_id: str | None
    ) -> ModelResponse:
        calls = tuple(
            ToolCall(id=call.id, name=call.name, arguments="".join(call.arguments) or "{}")
            for _, call in sorted(self.calls.items())
        )
        return ModelResponse(
            text="".join(self.text),
            tool_calls=calls,
            usage=usage(self.wire_usage),
            finish_reason=finish_reason(self.reason, bool(calls)),
            model=self.model or model_id,
            latency_ms=latency_ms,
            ttft_ms=ttft_ms,
            request_id=request_id,
        )
