"""Read tool calls out of what the model generated, constrained or not.

Accepted, in order: ``<tool_call>{...}</tool_call>`` blocks (the closing tag may be missing when
the output was cut off), else a reply that is one bare JSON object with a `name`. A call whose
arguments are not valid JSON is kept with its raw text: the executor then answers it with a
tool error the model can read, and the detectors see the bad arguments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from dispatcher.messages import ToolCall
from dispatcher.models.local._prompt import CALL_CLOSE, CALL_OPEN

__all__ = ["call_is_valid", "parse_reply"]

_BLOCK = re.compile(
    re.escape(CALL_OPEN) + r"\s*(.*?)\s*(?:" + re.escape(CALL_CLOSE) + r"|\Z)", re.DOTALL
)
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _object(raw: str) -> dict[str, Any] | None:
    try:
        # strict=False: a raw newline inside a string is still the model's intended text.
        value = json.loads(raw, strict=False)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _call(raw: str, new_id: Callable[[], str]) -> ToolCall | None:
    data = _object(raw)
    if data is None:
        # Salvage the name so the trace shows which tool the model was after.
        match = re.search(r'"name"\s*:\s*"([^"]+)"', raw)
        if match is None:
            return None
        _, found, rest = raw.partition('"arguments"')
        return ToolCall(new_id(), match.group(1), rest.lstrip(" :") if found else raw)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        parsed = _object(arguments)
        text = json.dumps(parsed, ensure_ascii=False) if parsed is not None else arguments
    else:
        text = json.dumps(arguments, ensure_ascii=False)
    return ToolCall(new_id(), name, text)


def parse_reply(output: str, new_id: Callable[[], str]) -> tuple[str, tuple[ToolCall, ...]]:
    """(text outside any call, tool calls) of one generated reply."""
    blocks = list(_BLOCK.finditer(output))
    if blocks:
        calls = [_call(block.group(1), new_id) for block in blocks]
        text = _BLOCK.sub("", output).strip()
        found = tuple(call for call in calls if call is not None)
        if found:
            return text, found
        return output.strip(), ()
    stripped = output.strip()
    fenced = _FENCE.match(stripped)
    candidate = fenced.group(1) if fenced else stripped
    if candidate.startswith("{"):
        call = _call(candidate, new_id)
        if call is not None:
            return "", (call,)
    return stripped, ()


def call_is_valid(call: ToolCall, schemas: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether `call` names a known tool and its arguments parse and fit that tool's schema."""
    import jsonschema

    schema = schemas.get(call.name)
    if schema is None:
        return False
    try:
        arguments = json.loads(call.arguments)
    except json.JSONDecodeError:
        return False
    return isinstance(arguments, dict) and jsonschema.Draft202012Validator(schema).is_valid(
        arguments
    )
