"""Cassettes: recorded or hand-written model turns, one shared format.

A cassette is JSON (or YAML) of the form::

    {"version": 1,
     "models": {"<registry model name>": [
         {"agent": "sql_analyst",            # optional: only requests from this agent take it
          "request": {                       # what the recorded run sent (checked on replay)
              "model": "openai/gpt-4o-mini",          # the profile's provider model
              "tools": ["sql_run_query", "escalate"], # tool names offered, in order
              "last": [{"role": "tool", "name": "sql_run_query", "content": "..."}]},
          "text": "...",                     # the model's text
          "tool_calls": [{"id": "c1", "name": "sql_run_query", "arguments": {"query": "..."}}],
          "usage": {"input_tokens": 812, "output_tokens": 40, "cached_input_tokens": 0},
          "finish_reason": "tool_calls"}]}}

`usage` may be omitted: the scripted model then estimates tokens from the request size
(about four characters a token), so offline runs still have realistic costs.

`request.last` holds the user and tool messages sent since the model's previous turn (the new
input of this turn). A strict replay (`dispatcher run`'s default) fails when a request differs
from its recording in any field that is present, or when a turn has no `request` at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml

from dispatcher._strict_yaml import load_user_yaml, yaml_error
from dispatcher._user_files import check_replaceable, read_user_text
from dispatcher.errors import DataError
from dispatcher.messages import (
    AssistantMessage,
    FinishReason,
    ModelRequest,
    ModelResponse,
    ToolCall,
    Usage,
    UserMessage,
)
from dispatcher.redaction import redact_registered

__all__ = [
    "Cassette",
    "CassetteTurn",
    "RecordedRequest",
    "load_cassette",
    "parse_cassette",
    "save_cassette",
]

CASSETTE_VERSION = 1


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What a recorded turn was sent: a replay compares each field that is present."""

    model: str | None = None
    tools: tuple[str, ...] | None = None
    last: tuple[dict[str, str], ...] | None = None

    @classmethod
    def of(cls, request: ModelRequest, model: str | None) -> RecordedRequest:
        return cls(model=model, tools=tuple(t.name for t in request.tools), last=new_input(request))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.model is not None:
            data["model"] = self.model
        if self.tools is not None:
            data["tools"] = list(self.tools)
        if self.last is not None:
            data["last"] = [dict(m) for m in self.last]
        return data

    def differences(self, request: ModelRequest, model: str | None) -> list[str]:
        """How `request` differs from this recording, one phrase per field; empty if alike."""
        found: list[str] = []
        if self.model is not None and model is not None and model != self.model:
            found.append(f"model: recorded {self.model!r}, now {model!r}")
        if self.tools is not None:
            tools = tuple(t.name for t in request.tools)
            if tools != self.tools:
                found.append(f"tools: recorded {list(self.tools)}, now {list(tools)}")
        if self.last is not None:
            now = new_input(request)
            if now != self.last:
                recorded, sent = _excerpts(_render(self.last), _render(now))
                found.append(f"last message: recorded {recorded}, now {sent}")
        return found


def new_input(request: ModelRequest) -> tuple[dict[str, str], ...]:
    """The user and tool messages sent since the model's previous (assistant) turn."""
    tail: list[dict[str, str]] = []
    for message in reversed(request.messages):
        if isinstance(message, AssistantMessage):
            break
        if isinstance(message, UserMessage):
            tail.append({"role": "user", "content": message.content})
        else:
            tail.append({"role": "tool", "name": message.name, "content": message.content})
    return tuple(reversed(tail))


def _render(messages: Sequence[Mapping[str, str]]) -> str:
    return " | ".join(
        f"{m.get('role')}{' ' + m['name'] if m.get('name') else ''}: {m.get('content', '')}"
        for m in messages
    )


def _excerpts(recorded: str, sent: str, before: int = 60, limit: int = 300) -> tuple[str, str]:
    """Both texts cut around their first difference, so a long message shows what changed."""
    start = next(
        (i for i, (a, b) in enumerate(zip(recorded, sent, strict=False)) if a != b),
        min(len(recorded), len(sent)),
    )
    begin = max(0, start - before)

    def cut(text: str) -> str:
        piece = text[begin : begin + limit]
        prefix = f"…(from character {begin}) " if begin else ""
        return repr(prefix + piece + ("…" if begin + limit < len(text) else ""))

    return cut(recorded), cut(sent)


@dataclass(frozen=True, slots=True)
class CassetteTurn:
    """One scripted model reply, with the request it answered when recorded."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    agent: str | None = None
    request: RecordedRequest | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.agent:
            data["agent"] = self.agent
        if self.request is not None:
            data["request"] = self.request.to_dict()
        if self.text:
            data["text"] = self.text
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": _arguments_value(c.arguments)}
                for c in self.tool_calls
            ]
        if self.usage is not None:
            data["usage"] = {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cached_input_tokens": self.usage.cached_input_tokens,
            }
        if self.finish_reason:
            data["finish_reason"] = self.finish_reason
        return data

    @classmethod
    def from_response(
        cls, response: ModelResponse, agent: str | None, request: RecordedRequest | None = None
    ) -> CassetteTurn:
        return cls(
            text=response.text,
            tool_calls=response.tool_calls,
            usage=response.usage,
            finish_reason=response.finish_reason,
            agent=agent,
            request=request,
        )


@dataclass
class Cassette:
    """Turns by registry model name."""

    models: dict[str, list[CassetteTurn]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CASSETTE_VERSION,
            "models": {m: [t.to_dict() for t in turns] for m, turns in self.models.items()},
        }


def _arguments_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw  # kept verbatim: malformed arguments are part of what is being replayed


def _turn(data: Any, where: str, file: Path | None, call_counter: list[int]) -> CassetteTurn:
    if not isinstance(data, Mapping):
        raise DataError(f"{where}: a turn must be a mapping", file=file)
    unknown = set(data) - {"agent", "request", "text", "tool_calls", "usage", "finish_reason"}
    if unknown:
        raise DataError(f"{where}: unknown key {sorted(unknown)[0]!r}", file=file)
    _check_turn_fields(data, where, file)
    calls = []
    for raw in data.get("tool_calls") or []:
        if not isinstance(raw, Mapping) or "name" not in raw:
            raise DataError(f"{where}: each tool call needs a name", file=file)
        call_counter[0] += 1
        arguments = raw.get("arguments", {})
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        calls.append(
            ToolCall(str(raw.get("id") or f"call_{call_counter[0]}"), str(raw["name"]), text)
        )
    usage = None
    if data.get("usage") is not None:
        u = data["usage"]
        try:
            usage = Usage(
                int(u.get("input_tokens", 0)),
                int(u.get("output_tokens", 0)),
                int(u.get("cached_input_tokens", 0)),
            )
        except (AttributeError, TypeError, ValueError):
            raise DataError(f"{where}: usage must map token kinds to integers", file=file) from None
        if min(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) < 0:
            raise DataError(f"{where}: usage token counts cannot be negative", file=file)
    return CassetteTurn(
        text=str(data.get("text") or ""),
        tool_calls=tuple(calls),
        usage=usage,
        finish_reason=data.get("finish_reason"),
        agent=data.get("agent"),
        request=_request(data.get("request"), where, file),
    )


def _check_turn_fields(data: Mapping[str, Any], where: str, file: Path | None) -> None:
    """Types of a turn's fields (what they mean is checked when the turn is replayed)."""
    calls = data.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise DataError(f"{where}: tool_calls must be a list of {{name, arguments}}", file=file)
    for key in ("text", "agent"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise DataError(f"{where}: {key} must be text, got {data[key]!r:.60}", file=file)
    reason = data.get("finish_reason")
    if reason is not None and reason not in get_args(FinishReason):
        raise DataError(
            f"{where}: finish_reason {reason!r:.60} is not one of "
            f"{', '.join(get_args(FinishReason))}",
            file=file,
        )


def _request(data: Any, where: str, file: Path | None) -> RecordedRequest | None:
    if data is None:
        return None
    where = f"{where}.request"
    if not isinstance(data, Mapping):
        raise DataError(f"{where}: must be a mapping with model, tools and last", file=file)
    unknown = set(data) - {"model", "tools", "last"}
    if unknown:
        raise DataError(f"{where}: unknown key {sorted(unknown)[0]!r}", file=file)
    tools = data.get("tools")
    if tools is not None and (
        not isinstance(tools, Sequence)
        or isinstance(tools, str)
        or not all(isinstance(t, str) for t in tools)
    ):
        raise DataError(f"{where}.tools: must be a list of tool names", file=file)
    last = data.get("last")
    messages: list[dict[str, str]] = []
    for i, raw in enumerate(last or []):
        ok = isinstance(raw, Mapping) and raw.get("role") in ("user", "tool")
        if not ok or not isinstance(raw.get("content"), str):
            raise DataError(
                f"{where}.last[{i}]: each message needs role (user or tool) and content",
                file=file,
            )
        message = {"role": str(raw["role"])}
        if raw["role"] == "tool":
            message["name"] = str(raw.get("name", ""))
        message["content"] = raw["content"]
        messages.append(message)
    model = data.get("model")
    return RecordedRequest(
        model=None if model is None else str(model),
        tools=None if tools is None else tuple(tools),
        last=None if last is None else tuple(messages),
    )


def parse_cassette(data: Any, *, file: Path | None = None) -> Cassette:
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), Mapping):
        raise DataError("a cassette needs a 'models' mapping of model name to turns", file=file)
    counter = [0]
    models: dict[str, list[CassetteTurn]] = {}
    for name, turns in data["models"].items():
        if not isinstance(turns, Sequence) or isinstance(turns, str):
            raise DataError(f"models.{name} must be a list of turns", file=file)
        models[str(name)] = [
            _turn(t, f"models.{name}[{i}]", file, counter) for i, t in enumerate(turns)
        ]
    return Cassette(models)


def load_cassette(path: str | Path) -> Cassette:
    file = Path(path)
    if not file.is_file():
        raise DataError("cassette not found", file=file)
    text = read_user_text(file, data=True)
    try:
        data = json.loads(text) if file.suffix == ".json" else load_user_yaml(text)
    except yaml.YAMLError as exc:
        error = yaml_error(exc, file, what="cassette")
        raise DataError(error.reason, file=file, fix=error.fix) from None
    except ValueError as exc:  # JSONDecodeError, or a number too long to parse
        reason = str(exc) if isinstance(exc, json.JSONDecodeError) else "a number is too long"
        raise DataError(
            f"cannot parse the cassette as JSON: {reason}",
            file=file,
            fix="correct the JSON at that place (re-record with --record if it was generated)",
        ) from None
    return parse_cassette(data, file=file)


def _without_secrets(value: Any) -> Any:
    # Keys read from the environment never reach a file, not even inside a recorded tool result.
    if isinstance(value, str):
        return redact_registered(value)
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items()}
    return value


def save_cassette(cassette: Cassette, path: str | Path) -> None:
    """Write the cassette (YAML, or JSON for a .json path); registered secrets are redacted."""
    file = check_replaceable(Path(path))
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(file.suffix + ".tmp")
    data = _without_secrets(cassette.to_dict())
    if file.suffix == ".json":
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        tmp.write_text(text, encoding="utf-8")
    tmp.replace(file)
