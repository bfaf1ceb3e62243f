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

from dispatcher._model_json import loads_model_json
from dispatcher.messages import ToolCall
from dispatcher.models.local._prompt import CALL_CLOSE, CALL_OPEN

__all__ = ["call_is_valid", "parse_reply"]

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


_DECODER = json.JSONDecoder(strict=False)  # a raw newline in a string is still the model's text


def _object(raw: str) -> dict[str, Any] | None:
    try:
        value = _DECODER.decode(raw)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _from_value(data: dict[str, Any], new_id: Callable[[], str]) -> ToolCall | None:
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


def _salvaged(raw: str, new_id: Callable[[], str]) -> ToolCall | None:
    """A call whose JSON does not parse: keep the name, and the arguments text as written."""
    match = re.search(r'"name"\s*:\s*"([^"]+)"', raw)
    if match is None:
        return None
    _, found, rest = raw.partition('"arguments"')
    return ToolCall(new_id(), match.group(1), rest.lstrip(" :").strip() if found else raw)


def _tagged_call(output: str, start: int, new_id: Callable[[], str]) -> tuple[ToolCall | None, int]:
    """The call opened at `start` and where its block ends. The JSON is read as a whole first:
    a string inside it may itself contain "</tool_call>"."""
    body = start + len(CALL_OPEN)
    while body < len(output) and output[body].isspace():
        body += 1
    try:
        value, end = _DECODER.raw_decode(output, body)
    except json.JSONDecodeError:
        close = output.find(CALL_CLOSE, body)
        stop = close if close != -1 else len(output)
        after = stop + len(CALL_CLOSE) if close != -1 else stop
        return _salvaged(output[body:stop], new_id), after
    rest = output[end:]
    after = end + (len(rest) - len(rest.lstrip()))
    if output.startswith(CALL_CLOSE, after):
        after += len(CALL_CLOSE)
    call = _from_value(value, new_id) if isinstance(value, dict) else None
    return call, after


def parse_reply(output: str, new_id: Callable[[], str]) -> tuple[str, tuple[ToolCall, ...]]:
    """(text outside any call, tool calls) of one generated reply."""
    calls: list[ToolCall] = []
    text: list[str] = []
    position = 0
    while (start := output.find(CALL_OPEN, position)) != -1:
        text.append(output[position:start])
        call, position = _tagged_call(output, start, new_id)
        if call is not None:
            calls.append(call)
    text.append(output[position:])
    if calls:
        return "".join(text).strip(), tuple(calls)
    stripped = output.strip()
    fenced = _FENCE.match(stripped)
    candidate = fenced.group(1) if fenced else stripped
    if candidate.startswith("{") and CALL_OPEN not in output:
        data = _object(candidate)
        call = _from_value(data, new_id) if data is not None else _salvaged(candidate, new_id)
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
        arguments = loads_model_json(call.arguments)
    except json.JSONDecodeError:  # also a number too long or nesting too deep to parse
        return False
    return isinstance(arguments, dict) and jsonschema.Draft202012Validator(schema).is_valid(
        arguments
    )
