"""OpenAI Chat Completions on the wire: the request we accept, the answers and chunks we send."""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from dispatcher._unicode import is_encodable
from dispatcher.gateway._errors import GatewayError

__all__ = [
    "ChatRequest",
    "chunk_bytes",
    "completion_body",
    "parse_request",
    "task_text",
]

MAX_BODY_BYTES = 8 * 1024 * 1024
# Deeper bodies are refused: re-encoding one (for the upstream, the trace) would hit Python's
# recursion limit, and no Chat Completions request (tool schemas included) comes close.
MAX_NESTING = 64
# `\ud800`-`\udfff` escapes: the only way a lone surrogate gets into a parsed body.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


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


class _NotJSON(ValueError):
    """What Python's parser takes but JSON is not: NaN, Infinity, 1e999."""


def _not_json(constant: str) -> Any:
    raise _NotJSON(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise _NotJSON(f"{number} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def _invalid_json(why: str) -> GatewayError:
    return GatewayError(
        400,
        f"the request body is not valid JSON ({why}); send a JSON object "
        "(Content-Type: application/json)",
        code="invalid_json",
    )


def _unencodable(body: dict[str, Any], raw: bytes) -> str | None:
    """Why `body` cannot be sent on (too deep, a lone surrogate), if it cannot.

    Walked only when the raw bytes make it possible: most bodies are not looked at twice.
    """
    deep = raw.count(b"[") + raw.count(b"{") > MAX_NESTING
    escapes = _SURROGATE_ESCAPE.search(raw) is not None
    if not (deep or escapes):
        return None
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_NESTING:
                return f"nested deeper than {MAX_NESTING} levels"
            children = [*value, *value.values()] if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
        elif escapes and isinstance(value, str) and not is_encodable(value):
            return "a lone surrogate escape such as \\ud800, which is no character"
    return None


def parse_request(raw: bytes) -> tuple[ChatRequest, dict[str, Any]]:
    """The checked request and the body as sent (400 with OpenAI's error shape otherwise)."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        body = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise _invalid_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _NotJSON as exc:
        raise _invalid_json(str(exc)) from None
    except UnicodeDecodeError:
        raise _invalid_json("it is not UTF-8 text") from None
    except ValueError:  # an integer of thousands of digits
        raise _invalid_json("a number is out of range") from None
    except RecursionError:
        raise _invalid_json(f"nested deeper than {MAX_NESTING} levels") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "the request body must be a JSON object", code="invalid_json")
    problem = _unencodable(body, raw)
    if problem is not None:
        raise _invalid_json(problem)
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
