"""Cassettes: recorded or hand-written model turns, one shared format.

A cassette is JSON (or YAML) of the form::

    {"version": 1,
     "models": {"<registry model name>": [
         {"agent": "sql_analyst",            # optional: only requests from this agent take it
          "text": "...",                     # the model's text
          "tool_calls": [{"id": "c1", "name": "sql_run_query", "arguments": {"query": "..."}}],
          "usage": {"input_tokens": 812, "output_tokens": 40, "cached_input_tokens": 0},
          "finish_reason": "tool_calls"}]}}

`usage` may be omitted: the scripted model then estimates tokens from the request size
(about four characters a token), so offline runs still have realistic costs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dispatcher.errors import DataError
from dispatcher.messages import ModelResponse, ToolCall, Usage

__all__ = ["Cassette", "CassetteTurn", "load_cassette", "parse_cassette", "save_cassette"]

CASSETTE_VERSION = 1


@dataclass(frozen=True, slots=True)
class CassetteTurn:
    """One scripted model reply."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    agent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.agent:
            data["agent"] = self.agent
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
    def from_response(cls, response: ModelResponse, agent: str | None) -> CassetteTurn:
        return cls(
            text=response.text,
            tool_calls=response.tool_calls,
            usage=response.usage,
            finish_reason=response.finish_reason,
            agent=agent,
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
    unknown = set(data) - {"agent", "text", "tool_calls", "usage", "finish_reason"}
    if unknown:
        raise DataError(f"{where}: unknown key {sorted(unknown)[0]!r}", file=file)
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
    return CassetteTurn(
        text=str(data.get("text") or ""),
        tool_calls=tuple(calls),
        usage=usage,
        finish_reason=data.get("finish_reason"),
        agent=data.get("agent"),
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
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"cannot parse cassette: {exc}", file=file) from None
    return parse_cassette(data, file=file)


def save_cassette(cassette: Cassette, path: str | Path) -> None:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(file.suffix + ".tmp")
    if file.suffix == ".json":
        tmp.write_text(json.dumps(cassette.to_dict(), indent=2) + "\n", encoding="utf-8")
    else:
        tmp.write_text(yaml.safe_dump(cassette.to_dict(), sort_keys=False), encoding="utf-8")
    tmp.replace(file)
