"""A ModelRequest as one ChatML prompt, with tools described the Hermes way.

SmolLM2's chat template (in its GGUF metadata) is plain ChatML. We render the prompt ourselves
instead of going through a chat handler: tool calls, tool results and `content: null` turns are
written exactly as the model should see them, with nothing dropped or HTML-escaped.

Text from users, tools and models is tokenized with special tokens off (see `PromptPiece`), so
a tool output containing ``<|im_end|>`` cannot open a turn of its own.

A tool call is written (and expected back) as::

    <tool_call>
    {"name": "<tool>", "arguments": {...}}
    </tool_call>

and a tool result goes back in a user turn inside ``<tool_response>`` tags.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher.messages import (
    AssistantMessage,
    ForcedTool,
    Message,
    ModelRequest,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)

__all__ = [
    "CALL_CLOSE",
    "CALL_OPEN",
    "MESSAGE_PREFIX",
    "PromptPiece",
    "offers_choice",
    "prompt_text",
    "render_prompt",
    "render_tool_call",
]

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
# With tool_choice="auto" the model first commits to one of two openings, "<tool_call>" or this
# one (as llama-cpp-python's chatml-function-calling does): a 135M model asked to choose
# between two explicit forms calls tools; left to free text it only ever chats.
MESSAGE_PREFIX = "message:"
_START, _END = "<|im_start|>", "<|im_end|>"
DEFAULT_SYSTEM = "You are a helpful AI assistant."
_TOOL_ERROR_PREFIX = "[tool error] "


def _tools_block(tools: Sequence[ToolSpec], choice: object) -> str:
    described = "\n".join(
        json.dumps(
            {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
            ensure_ascii=False,
        )
        for t in tools
    )
    call_format = (
        f"{CALL_OPEN}\n"
        '{"name": "<tool name>", "arguments": {<arguments as JSON>}}\n'
        f"{CALL_CLOSE}"
    )
    if isinstance(choice, ForcedTool):
        rule = f"Call the tool {choice.name!r} now. Reply with only:\n{call_format}"
    elif choice == "required":
        rule = f"Call one of the tools now. Reply with only:\n{call_format}"
    else:
        rule = (
            f"Reply in one of two ways.\nTo call a tool, reply with only:\n{call_format}\n"
            f"To answer, reply with:\n{MESSAGE_PREFIX} <your answer>"
        )
    return f"You can call these tools:\n<tools>\n{described}\n</tools>\n{rule}"


def _schema_block(schema: object) -> str:
    return "Reply with only a JSON value that matches this JSON Schema:\n" + json.dumps(
        schema, ensure_ascii=False
    )


def render_tool_call(call: ToolCall) -> str:
    """One tool call in the format the model is asked to produce; arguments verbatim."""
    arguments = call.arguments.strip() or "{}"
    try:
        json.loads(arguments)
    except json.JSONDecodeError:
        # What the model wrote, even if malformed: it sees its own mistake, not a repaired one.
        arguments = json.dumps(arguments, ensure_ascii=False)
    body = f'{{"name": {json.dumps(call.name)}, "arguments": {arguments}}}'
    return f"{CALL_OPEN}\n{body}\n{CALL_CLOSE}"


@dataclass(frozen=True, slots=True)
class PromptPiece:
    """Part of a prompt; only `markup` pieces may contain special tokens such as ``<|im_end|>``."""

    text: str
    markup: bool


def _turn(role: str, content: str) -> list[PromptPiece]:
    return [
        PromptPiece(f"{_START}{role}\n", markup=True),
        PromptPiece(content, markup=False),
        PromptPiece(f"{_END}\n", markup=True),
    ]


def _tool_response(message: ToolResultMessage) -> str:
    content = _TOOL_ERROR_PREFIX + message.content if message.is_error else message.content
    payload = json.dumps({"name": message.name, "content": content}, ensure_ascii=False)
    return f"<tool_response>\n{payload}\n</tool_response>"


def _conversation(messages: Sequence[Message], *, prefixed: bool) -> list[tuple[str, str]]:
    """(role, content) turns; consecutive tool results share one user turn.

    `prefixed`: assistant text is written as the model was asked to write it, after
    MESSAGE_PREFIX.
    """
    turns: list[tuple[str, str]] = []
    pending: list[str] = []
    for message in messages:
        if isinstance(message, ToolResultMessage):
            pending.append(_tool_response(message))
            continue
        if pending:
            turns.append(("user", "\n".join(pending)))
            pending = []
        if isinstance(message, UserMessage):
            turns.append(("user", message.content))
        elif isinstance(message, AssistantMessage):
            parts = []
            if message.text:
                parts.append(f"{MESSAGE_PREFIX} {message.text}" if prefixed else message.text)
            parts += [render_tool_call(call) for call in message.tool_calls]
            turns.append(("assistant", "\n".join(parts)))
        else:  # pragma: no cover - Message is a closed union
            raise TypeError(f"unknown message type {type(message).__name__}")
    if pending:
        turns.append(("user", "\n".join(pending)))
    return turns


def render_prompt(request: ModelRequest) -> list[PromptPiece]:
    """The full prompt, ending with the opening of the assistant's turn."""
    system = [request.system or DEFAULT_SYSTEM]
    if request.tools and request.tool_choice != "none":
        system.append(_tools_block(request.tools, request.tool_choice))
    if request.response_schema is not None:
        system.append(_schema_block(dict(request.response_schema)))
    prompt = _turn("system", "\n\n".join(system))
    for role, content in _conversation(request.messages, prefixed=offers_choice(request)):
        prompt += _turn(role, content)
    return [*prompt, PromptPiece(f"{_START}assistant\n", markup=True)]


def offers_choice(request: ModelRequest) -> bool:
    """Whether the model may either call a tool or answer (tool_choice="auto" with tools)."""
    return bool(request.tools) and request.tool_choice == "auto"


def prompt_text(pieces: Sequence[PromptPiece]) -> str:
    """The prompt as one string (for tests, logs and the chat-template check)."""
    return "".join(piece.text for piece in pieces)
