"""Test doubles that implement the Model seam without a network."""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from dispatcher.cassette import CassetteTurn, parse_cassette
from dispatcher.errors import ConfigError, UnexpectedModelCall
from dispatcher.messages import (
    AssistantMessage,
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)

__all__ = ["FunctionModel", "ScriptedModel", "estimate_usage", "reply", "tool_calls"]

TurnLike = CassetteTurn | ModelResponse | Mapping[str, Any] | str

# Call ids must be unique within a run: the executor caches results by id (side effects once).
_CALL_NUMBERS = itertools.count(1)


def reply(text: str, *, agent: str | None = None) -> CassetteTurn:
    """A scripted final text answer."""
    return CassetteTurn(text=text, agent=agent)


def tool_calls(
    *calls: tuple[str, Mapping[str, Any]] | ToolCall, agent: str | None = None, text: str = ""
) -> CassetteTurn:
    """A scripted turn that calls tools: ``tool_calls(("run_sql", {"query": "..."}))``."""
    made = []
    for i, call in enumerate(calls):
        if isinstance(call, ToolCall):
            made.append(call)
        else:
            name, arguments = call
            made.append(ToolCall(f"call_{next(_CALL_NUMBERS)}_{i}", name, json.dumps(arguments)))
    return CassetteTurn(text=text, tool_calls=tuple(made), agent=agent)


def _request_chars(request: ModelRequest) -> int:
    total = len(request.system)
    for message in request.messages:
        if isinstance(message, UserMessage):
            total += len(message.content)
        elif isinstance(message, ToolResultMessage):
            total += len(message.content) + 20
        elif isinstance(message, AssistantMessage):
            total += len(message.text) + sum(len(c.arguments) + 20 for c in message.tool_calls)
    for spec in request.tools:
        total += len(spec.description) + len(json.dumps(spec.parameters))
    return total


def estimate_usage(request: ModelRequest, turn: CassetteTurn) -> Usage:
    """About four characters a token: realistic costs for scripted runs without usage data."""
    output_chars = len(turn.text) + sum(len(c.arguments) + len(c.name) for c in turn.tool_calls)
    return Usage(max(1, _request_chars(request) // 4), max(1, output_chars // 4))


def _as_turn(item: TurnLike) -> CassetteTurn:
    if isinstance(item, CassetteTurn):
        return item
    if isinstance(item, str):
        return CassetteTurn(text=item)
    if isinstance(item, ModelResponse):
        return CassetteTurn.from_response(item, None)
    if not isinstance(item, Mapping):
        raise ConfigError(
            f"{item!r} is not a scripted turn",
            fix="use reply(text), tool_calls(...), a ModelResponse, a str or a cassette turn "
            "mapping",
        )
    return parse_cassette({"models": {"m": [dict(item)]}}).models["m"][0]


def _describe(request: ModelRequest) -> str:
    last = request.messages[-1] if request.messages else None
    if isinstance(last, UserMessage):
        tail = last.content
    elif isinstance(last, ToolResultMessage):
        tail = f"tool result {last.name}: {last.content}"
    elif isinstance(last, AssistantMessage):
        tail = last.text
    else:
        tail = ""
    agent = request.metadata.get("agent", "?")
    return f"agent={agent}, {len(request.messages)} messages, last: {tail[:200]!r}"


class ScriptedModel:
    """Replies with scripted turns in order; errors on an unexpected or unconsumed call.

    A turn with `agent` set is only given to requests from that agent, so concurrent agents
    sharing one model replay deterministically. A turn's `request`, when recorded, is checked
    against the request it answers. `strict=True` (cassette replays) also requires every turn
    to carry its `request` and every scripted tool call to name a tool that was offered.

    Args:
        name: the model's name in the cassette, used to name entries in errors.
        provider_model: the model the request is meant for, compared with `request.model`.
    """

    def __init__(
        self,
        turns: Sequence[TurnLike],
        *,
        model_id: str = "scripted",
        name: str | None = None,
        strict: bool = False,
        provider_model: str | None = None,
    ) -> None:
        self.model_id = model_id
        self.name = name or model_id
        self.strict = strict
        self.provider_model = provider_model
        if isinstance(turns, str | bytes) or not isinstance(turns, Sequence):
            raise ConfigError(
                f"turns must be a list, got {type(turns).__name__}",
                fix='e.g. ScriptedModel([reply("hello")])',
            )
        self._turns = [_as_turn(t) for t in turns]
        self._used = [False] * len(self._turns)
        self.requests: list[ModelRequest] = []

    def entry(self, index: int) -> str:
        """Where a turn is in the cassette, e.g. ``models.small[3]``."""
        return f"models.{self.name}[{index}]"

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        index = self._pick(request)
        if index is not None:
            turn = self._turns[index]
            self._used[index] = True
            self._check(index, turn, request)
            return ModelResponse(
                text=turn.text,
                tool_calls=turn.tool_calls,
                usage=turn.usage or estimate_usage(request, turn),
                finish_reason=turn.finish_reason or ("tool_calls" if turn.tool_calls else "stop"),  # type: ignore[arg-type]
                model=self.model_id,
            )
        agent = request.metadata.get("agent")
        raise UnexpectedModelCall(
            f"scripted model {self.model_id!r} has no turn left for this call "
            f"(models.{self.name} has no entry left for agent {agent or '?'}: "
            f"{_describe(request)}); {self.remaining} turn(s) unconsumed for other agents",
            model=self.model_id,
        )

    def _pick(self, request: ModelRequest) -> int | None:
        """The next unused turn for the request's agent; among those, the first whose recorded
        request matches (concurrent runs of one agent may ask in either order)."""
        agent = request.metadata.get("agent")
        candidates = [
            i
            for i, turn in enumerate(self._turns)
            if not self._used[i] and (turn.agent is None or turn.agent == agent)
        ]
        for index in candidates:
            recorded = self._turns[index].request
            if recorded is not None and not recorded.differences(request, self.provider_model):
                return index
        return candidates[0] if candidates else None

    def _check(self, index: int, turn: CassetteTurn, request: ModelRequest) -> None:
        where = f"cassette entry {self.entry(index)} (agent {turn.agent or '?'})"
        if turn.request is None:
            if self.strict:
                raise UnexpectedModelCall(
                    f"{where} has no `request` record, so the replay cannot check what was "
                    "sent; strict replays need one on every turn",
                    model=self.model_id,
                )
        else:
            found = turn.request.differences(request, self.provider_model)
            if found:
                raise UnexpectedModelCall(
                    f"{where}: the request differs from the recording: " + "; ".join(found),
                    model=self.model_id,
                )
        if self.strict:
            offered = {t.name for t in request.tools}
            unknown = [c.name for c in turn.tool_calls if c.name not in offered]
            if unknown:
                raise UnexpectedModelCall(
                    f"{where} calls unknown tool {unknown[0]!r}; the tools offered were: "
                    f"{', '.join(sorted(offered)) or '(none)'}",
                    model=self.model_id,
                )

    def check_complete(self) -> None:
        """Raise `UnexpectedModelCall` naming the cassette entries that were never requested."""
        left = [i for i, used in enumerate(self._used) if not used]
        if left:
            entries = ", ".join(self.entry(i) for i in left[:5])
            raise UnexpectedModelCall(
                f"{len(left)} scripted turn(s) were never requested: {entries}"
                + (" …" if len(left) > 5 else ""),
                model=self.model_id,
            )

    @property
    def remaining(self) -> int:
        return self._used.count(False)

    def assert_complete(self) -> None:
        """Fail if any scripted turn was never requested."""
        left = [t for t, used in zip(self._turns, self._used, strict=True) if not used]
        if left:
            summary = "; ".join(
                (t.text[:60] or ",".join(c.name for c in t.tool_calls)) for t in left[:5]
            )
            raise AssertionError(
                f"scripted model {self.model_id!r}: {len(left)} turn(s) never requested: {summary}"
            )


ModelFunction = Callable[[ModelRequest], Awaitable[ModelResponse] | ModelResponse]


class FunctionModel:
    """A model whose replies come from a function of the request."""

    def __init__(self, function: ModelFunction, *, model_id: str = "function") -> None:
        self.model_id = model_id
        self.function = function
        self.calls = 0

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        result = self.function(request)
        if isinstance(result, ModelResponse):
            return result
        return await result
