"""Wire payloads as the real APIs send them: Anthropic Messages, OpenAI Chat Completions.

Shared by the MockTransport tests and the 127.0.0.1 server tests.
"""

from __future__ import annotations

import json
from typing import Any

# ---------------------------------------------------------------- Anthropic Messages


def anthropic_message(
    *,
    text: str = "",
    tool_uses: tuple[tuple[str, str, dict[str, Any]], ...] = (),
    stop_reason: str = "end_turn",
    model: str = "claude-test",
    input_tokens: int = 10,
    output_tokens: int = 5,
    cache_read: int | None = None,
    cache_creation: int | None = None,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    content.extend(
        {"type": "tool_use", "id": tid, "name": name, "input": args}
        for tid, name, args in tool_uses
    )
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_creation,
        },
    }


def anthropic_error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def sse_event(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def anthropic_stream(
    *,
    text_chunks: tuple[str, ...] = (),
    tool: tuple[str, str, tuple[str, ...]] | None = None,
    stop_reason: str = "end_turn",
    model: str = "claude-test",
    input_tokens: int = 12,
    output_tokens: int = 7,
    cache_read: int | None = None,
) -> list[bytes]:
    """One SSE event per item: message_start, content blocks with deltas, message_delta/stop."""
    events = [
        sse_event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_s1",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "output_tokens": 1,
                        "cache_read_input_tokens": cache_read,
                    },
                },
            },
        ),
        sse_event("ping", {"type": "ping"}),
    ]
    index = 0
    if text_chunks:
        events.append(
            sse_event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        events.extend(
            sse_event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": t},
                },
            )
            for t in text_chunks
        )
        events.append(sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        index = 1
    if tool is not None:
        tool_id, name, pieces = tool
        events.append(
            sse_event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
                },
            )
        )
        events.extend(
            sse_event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
            for piece in pieces
        )
        events.append(
            sse_event("content_block_stop", {"type": "content_block_stop", "index": index})
        )
    events.append(
        sse_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        )
    )
    events.append(sse_event("message_stop", {"type": "message_stop"}))
    return events


# ---------------------------------------------------------------- OpenAI Chat Completions


def openai_completion(
    *,
    text: str | None = "",
    tool_calls: tuple[tuple[str, str, str], ...] = (),
    finish_reason: str = "stop",
    model: str = "gpt-test",
    prompt_tokens: int = 20,
    completion_tokens: int = 6,
    cached_tokens: int | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in tool_calls
        ]
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage,
    }


def openai_error(message: str, *, error_type: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def _chunk(
    delta: dict[str, Any], finish: str | None = None, model: str = "gpt-test"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-s1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def data_line(payload: dict[str, Any] | str) -> bytes:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {body}\n\n".encode()


def openai_stream(
    *,
    text_chunks: tuple[str, ...] = (),
    tool: tuple[str, str, tuple[str, ...]] | None = None,
    finish_reason: str = "stop",
    prompt_tokens: int = 30,
    completion_tokens: int = 9,
    cached_tokens: int = 0,
) -> list[bytes]:
    """`data: {chunk}` lines, a final usage chunk (include_usage) and `data: [DONE]`."""
    lines = [data_line(_chunk({"role": "assistant", "content": ""}))]
    lines.extend(data_line(_chunk({"content": t})) for t in text_chunks)
    if tool is not None:
        call_id, name, pieces = tool
        lines.append(
            data_line(
                _chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
        )
        lines.extend(
            data_line(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            for piece in pieces
        )
    lines.append(data_line(_chunk({}, finish=finish_reason)))
    lines.append(
        data_line(
            {
                "id": "chatcmpl-s1",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": "gpt-test",
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                    "prompt_tokens_details": {"cached_tokens": cached_tokens},
                },
            }
        )
    )
    lines.append(data_line("[DONE]"))
    return lines
