"""OpenAI Chat Completions on the wire: the request we accept, the answers and chunks we send."""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from dispatcher.gateway._errors import GatewayError

__all__ = [
    "ChatRequest",
    "chunk_bytes",
    "completion_body",
    "parse_request",
    "task_text",
]

MAX_BODY_BYTES = 8 * 1024 * 1024


class ChatMessage(BaseModel):
    # OpenAI adds fields over time (name, tool_calls, refusal, ...): keep them, check the core.
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool = False


class ChatRequest(BaseModel):
    """The fields the gateway reads; the rest of the body goes upstream untouched."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    n: int | None = Field(default=None, ge=1, le=128)

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


def parse_request(raw: bytes) -> tuple[ChatRequest, dict[str, Any]]:
    """The checked request and the body as sent (400 with OpenAI's error shape otherwise)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise GatewayError(
            400,
            "the request body is not valid JSON; send a JSON object "
            "(Content-Type: application/json)",
            code="invalid_json",
        ) from None
    if not isinstance(body, dict):
        raise GatewayError(400, "the request body must be a JSON object", code="invalid_json")
    try:
        return ChatRequest.model_validate(body), body
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        param = ".".join(str(part) for part in first["loc"]) or None
        raise GatewayError(
            400, f"invalid request: {param}: {first['msg']}", code="invalid_request", param=param
        ) from None


def _text(message: ChatMessage) -> str:
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise GatewayError(
                400,
                "dispatcher models take text only; send text content parts or call a "
                "registry model directly",
                param="messages",
            )
        parts.append(part["text"])
    return "\n".join(parts)


def task_text(request: ChatRequest) -> str:
    """The conversation as one task: the user's text alone, or a transcript with roles."""
    if request.tools:
        raise GatewayError(
            400,
            f"{request.model} runs its specialists' own tools; client tools are passed through "
            "to registry models only (use one of those as `model`)",
            param="tools",
        )
    if request.n not in (None, 1):
        raise GatewayError(400, f"{request.model} returns one choice; set n to 1", param="n")
    texts = [(m.role, _text(m)) for m in request.messages]
    users = [t for role, t in texts if role == "user"]
    if len(users) == 1 and all(role in ("system", "developer", "user") for role, _ in texts):
        context = [t for role, t in texts if role != "user" and t]
        return "\n\n".join([*context, users[0]])
    return "\n\n".join(f"{role}: {text}" for role, text in texts if text)


def completion_body(
    *, completion_id: str, model: str, text: str, input_tokens: int, output_tokens: int
) -> dict[str, Any]:
    """A non-streamed chat.completion."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
    }


def chunk_bytes(
    *,
    completion_id: str,
    model: str,
    created: int,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """One `chat.completion.chunk` as an SSE event (no choices when it carries usage only)."""
    chunk: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }
    if usage is not None:
        chunk["usage"] = usage
    if extra:
        chunk.update(extra)
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"
