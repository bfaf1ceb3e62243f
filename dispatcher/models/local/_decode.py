"""One request decoded by a loaded model: the prompt, the grammar phases, the parsed reply.

Constrained (the default):
- tool_choice "required" or a forced tool: one call, decoded under the call grammar.
- "auto" with tools: the model first commits to "<tool_call>" or "message:" (a grammar of two
  strings), then writes the call under the call grammar or the message as free text. The
  second phase extends the first prompt, so llama.cpp reuses its KV cache.
- a `response_schema`: JSON under the schema's grammar.
Unconstrained: one free generation, parsed the same way (what the model does on its own).
A schema that cannot become a grammar llama.cpp accepts is decoded freely as well.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from dispatcher.messages import ModelRequest, ToolCall, Usage
from dispatcher.models.local._calls import parse_reply
from dispatcher.models.local._grammar import (
    DECISION_GRAMMAR,
    call_grammar,
    offered_tools,
    schema_grammar,
)
from dispatcher.models.local._prompt import (
    CALL_OPEN,
    MESSAGE_PREFIX,
    PromptPiece,
    offers_choice,
    render_prompt,
)
from dispatcher.models.local._runtime import Generation, LoadedModel

__all__ = ["DecodeSettings", "Decoded", "decode"]

_DECISION_TOKENS = 8


@dataclass(frozen=True, slots=True)
class DecodeSettings:
    constrained: bool
    max_tokens: int
    temperature: float
    seed: int
    repeat_penalty: float


@dataclass(frozen=True, slots=True)
class Decoded:
    """The reply with the runtime's token counts summed over its phases."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    truncated: bool
    ttft_ms: float | None
    latency_ms: float


def _usable(model: LoadedModel, build: Callable[[], str] | None) -> str | None:
    """The grammar, or None (free decoding) when a schema cannot become one llama.cpp takes:
    the converter refuses some JSON Schema features, and a tool must still be callable."""
    if build is None:
        return None
    try:
        grammar = build()
    except Exception:  # the converter raises AssertionError, KeyError, ValueError, ...
        return None
    return grammar if model.grammar_parses(grammar) else None


def decode(
    model: LoadedModel,
    request: ModelRequest,
    settings: DecodeSettings,
    new_call_id: Callable[[], str],
) -> Decoded:
    """Blocking: run the phases for `request` and parse the result."""
    pieces = render_prompt(request)
    calls_allowed = bool(request.tools) and request.tool_choice != "none"

    def run(prefix: str, grammar: Callable[[], str] | None, max_tokens: int) -> Generation:
        extra = [PromptPiece(prefix, markup=False)] if prefix else []
        return model.generate(
            [*pieces, *extra],
            grammar=_usable(model, grammar),
            max_tokens=max_tokens,
            temperature=settings.temperature,
            seed=settings.seed,
            repeat_penalty=settings.repeat_penalty,
        )

    phases: list[Generation] = []
    if not settings.constrained:
        phases.append(run("", None, settings.max_tokens))
        raw = phases[0].text
        if raw.lstrip().startswith(MESSAGE_PREFIX):
            raw = raw.lstrip()[len(MESSAGE_PREFIX) :]
    elif calls_allowed and offers_choice(request):
        phases.append(run("", lambda: DECISION_GRAMMAR, _DECISION_TOKENS))
        if phases[0].text.startswith(CALL_OPEN):
            grammar = functools.partial(call_grammar, request.tools, opened=True)
            phases.append(run(CALL_OPEN, grammar, settings.max_tokens))
            raw = CALL_OPEN + phases[1].text
        else:
            phases.append(run(MESSAGE_PREFIX, None, settings.max_tokens))
            raw = phases[1].text
    elif calls_allowed:
        tools = offered_tools(request.tools, request.tool_choice)
        grammar = functools.partial(call_grammar, tools, opened=False)
        phases.append(run("", grammar, settings.max_tokens))
        raw = phases[0].text
    elif request.response_schema is not None:
        grammar = functools.partial(schema_grammar, request.response_schema)
        phases.append(run("", grammar, settings.max_tokens))
        raw = phases[0].text
    else:
        phases.append(run("", None, settings.max_tokens))
        raw = phases[0].text
    text, calls = raw.strip(), tuple[ToolCall, ...]()
    if calls_allowed:
        text, calls = parse_reply(raw, new_call_id)
    first = phases[0]
    return Decoded(
        text=text,
        tool_calls=calls,
        usage=Usage(
            input_tokens=first.prompt_tokens,
            output_tokens=sum(p.completion_tokens for p in phases),
            cached_input_tokens=first.cached_tokens,
        ),
        truncated=phases[-1].finish_reason == "length",
        ttft_ms=first.ttft_ms,
        latency_ms=sum(p.latency_ms for p in phases),
    )
