"""Import runs recorded as OpenAI chat messages with `tool_calls` (e.g. tau-bench).

One record is one run: ``{"traj" | "messages" | "trajectory": [...], ...label fields}`` (the
last as SWE-rebench publishes OpenHands runs); a file is a JSON list of records, one record, or
JSONL. How a record becomes a trajectory:

- each tool call of an assistant message is a step: `action` is ``name(canonical JSON args)``
  (as the worker loop writes it), `observation` the matching ``role: tool`` message;
- an assistant message without tool calls is a text step: `action` and `text` are its content,
  `observation` is what the user (or user simulator) said next;
- text that accompanies tool calls becomes the `text` of the first of those steps;
- a successful call that writes files (a shell write, an editor tool other than ``view``) gets
  ``state_changed`` and the edited ``path`` (dispatcher.trajectories._writes);
- `error`: the tool result starts with "Error", "Exception" or "Traceback" (tau-bench tools
  return ``"Error: ..."`` strings when an action is refused), or is a JSON object with a
  non-null top-level ``"error"``, or the message has ``"is_error": true``;
- `success`: ``success``, else ``reward == 1`` (tau-bench), else ``resolved``;
- `group`: ``group``, else ``task_id``, else ``instance_id``, else the run id;
- `id`: ``id``, else ``<task_id>-<trial>``, else the record's position.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import takewhile
from pathlib import Path
from typing import Any

from dispatcher.detectors._actions import format_action
from dispatcher.detectors.base import Step
from dispatcher.errors import DataError
from dispatcher.trajectories._labels import record_group, record_id, record_label, strong_label
from dispatcher.trajectories._model import Trajectory
from dispatcher.trajectories._writes import call_signals

__all__ = [
    "chat_messages",
    "content_text",
    "import_openai_record",
    "is_error_text",
    "objects_only",
]

_ERROR_PREFIXES = ("error", "exception", "traceback")


def content_text(content: Any) -> str:
    """Message content as text (strings, or lists of content parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text") or ""))
            else:
                parts.append(str(part))
        return "\n".join(p for p in parts if p)
    return json.dumps(content, ensure_ascii=False)


def is_error_text(text: str) -> bool:
    """Does a tool result read as a failure? (See the module docstring for the rule.)"""
    stripped = text.lstrip()
    if stripped[:9].lower().startswith(_ERROR_PREFIXES):
        return True
    if stripped.startswith("{") and '"error"' in stripped[:200]:
        try:
            value = json.loads(stripped)
        except ValueError:
            return False
        return isinstance(value, dict) and value.get("error") not in (None, "", False)
    return False


def chat_messages(record: Mapping[str, Any]) -> list[Any] | None:
    """The record's chat messages: ``traj``, ``messages``, or a ``trajectory`` of messages."""
    for key in ("traj", "messages", "trajectory"):
        value = record.get(key)
        if isinstance(value, list) and (key != "trajectory" or _has_roles(value)):
            return value
    return None


def objects_only(messages: list[Any], file: str | Path, line: int) -> list[Any]:
    """The messages, once each is a JSON object (a number or null there is a broken log)."""
    for at, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise DataError(
                f"message {at} must be a JSON object with a 'role', got {message!r:.60}",
                file=file,
                line=line,
            )
    return messages


def _has_roles(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(m, Mapping) and "role" in m for m in items[:3])


def _arguments(raw: Any) -> tuple[Any, Mapping[str, Any] | None]:
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw, None
    else:
        parsed = raw
    return parsed, parsed if isinstance(parsed, Mapping) else None


def import_openai_record(
    record: Mapping[str, Any], position: int, file: str | Path, line: int
) -> Trajectory:
    """One run from a record holding OpenAI chat messages."""
    messages = chat_messages(record)
    if messages is None:
        raise DataError(
            "expected a 'traj', 'messages' or 'trajectory' list of chat messages",
            file=file,
            line=line,
        )
    objects_only(messages, file, line)
    steps: list[Step] = []
    for position_in_run, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        text = content_text(message.get("content")).strip()
        calls = message.get("tool_calls") or []
        _check_tool_calls(calls, position_in_run, file, line)
        if not calls:
            steps.append(
                Step(
                    index=len(steps),
                    action=text,
                    observation=_next_user_text(messages, position_in_run),
                    text=text,
                )
            )
            continue
        results = _results_after(messages, position_in_run)
        for number, call in enumerate(calls):
            function = call.get("function") or {}
            name = str(function.get("name") or "unknown_tool")
            parsed, arguments = _arguments(function.get("arguments"))
            result = results.get(str(call.get("id"))) or results.get(number) or {}
            observation = content_text(result.get("content"))
            error = bool(result.get("is_error")) or is_error_text(observation)
            steps.append(
                Step(
                    index=len(steps),
                    action=format_action(name, parsed),
                    observation=observation,
                    error=error,
                    tool=name,
                    arguments=arguments,
                    text=text if number == 0 else "",
                    signals={} if error else call_signals(name, arguments),
                )
            )
    run_id = record_id(record, position)
    return Trajectory(
        id=run_id,
        group=record_group(record, run_id),
        success=record_label(record, file, line),
        steps=tuple(steps),
        strong_success=strong_label(record),
    )


def _check_tool_calls(calls: Any, message: int, file: str | Path, line: int) -> None:
    """`tool_calls` is a list of objects, each with an optional `function` object."""
    shape = 'a list of {"id": ..., "function": {"name": ..., "arguments": ...}} objects'
    if not isinstance(calls, list):
        raise DataError(
            f"message {message}: 'tool_calls' must be {shape}, got {type(calls).__name__}",
            file=file,
            line=line,
        )
    for number, call in enumerate(calls):
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(call, Mapping) or not isinstance(function, Mapping | None):
            raise DataError(
                f"message {message}: tool_calls[{number}] must be {shape}, got {call!r:.80}",
                file=file,
                line=line,
            )


def _results_after(messages: Sequence[Any], position: int) -> dict[str | int, Mapping[str, Any]]:
    """The tool results answering one assistant message, by call id and by position.

    Only the tool messages right after it count: some logs reuse call ids across turns.
    """
    results: dict[str | int, Mapping[str, Any]] = {}
    ambiguous: set[str] = set()
    answers = takewhile(
        lambda m: isinstance(m, Mapping) and m.get("role") == "tool", messages[position + 1 :]
    )
    for number, message in enumerate(answers):
        call_id = str(message.get("tool_call_id"))
        if call_id in results:
            ambiguous.add(call_id)  # the same id twice: only the position tells them apart
        results[call_id] = message
        results[number] = message
    for call_id in ambiguous:
        del results[call_id]
    return results


def _next_user_text(messages: Sequence[Any], position: int) -> str:
    """What the user said after an assistant's text, up to the next assistant message."""
    said = []
    for message in messages[position + 1 :]:
        if not isinstance(message, Mapping):
            continue
        if message.get("role") == "assistant":
            break
        if message.get("role") == "user":
            said.append(content_text(message.get("content")))
    return "\n".join(said)
