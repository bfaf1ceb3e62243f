"""The normalized conversation that every model adapter reads and writes.

Dataclasses, not pydantic: these are built on the hot path of every turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dispatcher._unicode import scrub_arguments, scrub_text

__all__ = [
    "AssistantMessage",
    "FinishReason",
    "ForcedTool",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "ToolCall",
    "ToolChoice",
    "ToolResultMessage",
    "ToolSpec",
    "Usage",
    "UserMessage",
]

FinishReason = Literal["stop", "tool_calls", "length", "content_filter", "other"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call as the model produced it; `arguments` is the raw JSON text, unparsed."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one model call. `cached_input_tokens` is a subset of `input_tokens`."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
        )


@dataclass(frozen=True, slots=True)
class UserMessage:
    """Text from the user (or from the framework speaking for the user, e.g. a nudge)."""

    content: str
    role: Literal["user"] = "user"


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    """What the model said: text, tool calls, or both."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    role: Literal["assistant"] = "assistant"


@dataclass(frozen=True, slots=True)
class ToolResultMessage:
    """The result of one tool call, sent back to the model."""

    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    role: Literal["tool"] = "tool"


Message = UserMessage | AssistantMessage | ToolResultMessage


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as shown to the model: its name, description and JSON Schema for arguments."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ForcedTool:
    """Force the model to call exactly this tool (provider-native forced tool choice)."""

    name: str


ToolChoice = Literal["auto", "required", "none"] | ForcedTool


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One request to a model.

    `response_schema` asks for JSON output matching a schema on models that support it;
    adapters that cannot enforce it still send the instruction in the system prompt.
    """

    messages: Sequence[Message]
    system: str = ""
    tools: Sequence[ToolSpec] = ()
    tool_choice: ToolChoice = "auto"
    max_output_tokens: int | None = None
    temperature: float | None = None
    response_schema: Mapping[str, Any] | None = None
    stream: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """A model's normalized answer with usage and timing."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    finish_reason: FinishReason = "stop"
    model: str = ""
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    request_id: str | None = None
    retries: int = 0

    def __post_init__(self) -> None:
        # Model output is untrusted text: a lone surrogate would break every trace line and
        # request after it, so it becomes U+FFFD here, where every adapter's answer passes.
        text = scrub_text(self.text) if isinstance(self.text, str) else self.text
        if text is not self.text:
            object.__setattr__(self, "text", text)
        calls: list[ToolCall] = []
        for call in self.tool_calls:
            if not isinstance(call, ToolCall):  # a caller's mistake; left for it to surface
                return
            name, arguments = scrub_text(call.name), scrub_arguments(call.arguments)
            same = name is call.name and arguments is call.arguments
            calls.append(call if same else ToolCall(call.id, name, arguments))
        if any(new is not old for new, old in zip(calls, self.tool_calls, strict=True)):
            object.__setattr__(self, "tool_calls", tuple(calls))

    def to_message(self) -> AssistantMessage:
        return AssistantMessage(text=self.text, tool_calls=self.tool_calls)
