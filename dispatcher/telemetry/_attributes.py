"""What each trace event says on a span: GenAI attributes, our `dispatcher.*` ones, span events.

Pure functions of an event (no OpenTelemetry import), so the live sink and the export of a past
trace describe a run the same way. Content (prompts, outputs, tool arguments and results, a
worker's own words) is added only when `content` is true; keys never: every text is redacted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pydantic_core

from dispatcher.redaction import redact
from dispatcher.telemetry import _conventions as c
from dispatcher.trace._lines import json_safe
from dispatcher.trace.events import (
    AgentFinished,
    AgentStarted,
    DetectorVerdictEvent,
    EscalationEvent,
    ModelCall,
    ModelFallback,
    ModelRetry,
    Note,
    RouteEvent,
    RunFinished,
    RunStarted,
    ToolCallEvent,
)

__all__ = [
    "AttributeValue",
    "Attributes",
    "agent_finished_attributes",
    "agent_started_attributes",
    "escalation_attributes",
    "model_call_attributes",
    "run_finished_attributes",
    "run_started_attributes",
    "span_event",
    "split_model",
    "tool_call_attributes",
]

AttributeValue = str | bool | int | float | Sequence[str] | Sequence[float] | Sequence[int]
Attributes = dict[str, AttributeValue]

_D = c.DISPATCHER
# LiteLLM-style prefixes of a model id, and the gen_ai.provider.name value each stands for.
_PROVIDERS = {"anthropic": "anthropic", "openai": "openai", "groq": "groq", "xai": "x_ai",
              "deepseek": "deepseek", "mistral": "mistral_ai", "bedrock": "aws.bedrock",
              "azure": "azure.ai.openai", "gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai",
              "cohere": "cohere", "perplexity": "perplexity", "ollama": "ollama",
              "vllm": "vllm", "hosted_vllm": "vllm", "openrouter": "openrouter"}  # fmt: skip
_SCRIPTED = "scripted:"  # dispatcher.testing's models name themselves so


def _text(value: Any) -> str:
    """Any value as redacted text; structured values as compact JSON."""
    if isinstance(value, str):
        return redact(value)
    try:
        text = json.dumps(value, default=str, sort_keys=True)
    except (TypeError, ValueError):
        # User data (a tool's signals): keys of mixed types cannot be sorted, and an integer
        # over 4300 digits has no str(); the trace writer's own conversion takes both.
        text = pydantic_core.to_json(json_safe(value)).decode("utf-8")
    return redact(text)


def _messages(role: str, text: str) -> str:
    """One message in the conventions' JSON shape for gen_ai.input/output.messages."""
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": redact(text)}]}])


def _put(attributes: Attributes, key: str, value: AttributeValue | None) -> None:
    if value is not None:
        attributes[key] = value


def split_model(provider_model: str) -> tuple[str, str]:
    """A call's model id as (gen_ai.provider.name, model): `anthropic/claude-x` → (anthropic,
    claude-x); `scripted:small` → (scripted, small); a bare id is Anthropic's if it names Claude,
    else it went through the OpenAI-compatible adapter."""
    if provider_model.startswith(_SCRIPTED):
        return "scripted", provider_model[len(_SCRIPTED) :]
    prefix, slash, rest = provider_model.partition("/")
    if slash and prefix.lower() in _PROVIDERS:
        return _PROVIDERS[prefix.lower()], rest
    provider = "anthropic" if provider_model.lower().startswith("claude") else "openai"
    return provider, provider_model


def run_started_attributes(event: RunStarted, content: bool) -> Attributes:
    attributes: Attributes = {
        c.GEN_AI_OPERATION_NAME: c.OP_INVOKE_WORKFLOW,
        c.GEN_AI_WORKFLOW_NAME: event.entry or _D,
        c.GEN_AI_CONVERSATION_ID: event.run_id,
        f"{_D}.run_id": event.run_id,
        f"{_D}.span_id": event.span_id,
        f"{_D}.config_digest": event.config_digest,
    }
    if content:
        attributes[c.GEN_AI_INPUT_MESSAGES] = _messages("user", event.task)
    return attributes


def run_finished_attributes(event: RunFinished, content: bool) -> Attributes:
    attributes: Attributes = {
        f"{_D}.status": event.status,
        c.GEN_AI_USAGE_INPUT_TOKENS: event.input_tokens,
        c.GEN_AI_USAGE_OUTPUT_TOKENS: event.output_tokens,
        f"{_D}.model_calls": event.model_calls,
        f"{_D}.tool_calls": event.tool_calls,
        f"{_D}.escalations": event.escalations,
        f"{_D}.duration_ms": event.duration_ms,
    }
    _put(attributes, f"{_D}.cost_usd", event.cost_usd)
    _put(attributes, f"{_D}.counterfactual_cost_usd", event.counterfactual_cost_usd)
    if event.unpriced_models:
        attributes[f"{_D}.unpriced_models"] = list(event.unpriced_models)
    if event.error:
        attributes[c.ERROR_TYPE] = str(event.error.get("type") or event.status)
    if content and event.answer is not None:
        attributes[c.GEN_AI_OUTPUT_MESSAGES] = _messages("assistant", event.answer)
    return attributes


def agent_started_attributes(event: AgentStarted, content: bool) -> Attributes:
    attributes: Attributes = {
        c.GEN_AI_OPERATION_NAME: c.OP_INVOKE_AGENT,
        c.GEN_AI_AGENT_NAME: event.agent,
        c.GEN_AI_REQUEST_MODEL: event.model,
        c.GEN_AI_CONVERSATION_ID: event.run_id,
        f"{_D}.role": event.role,
        f"{_D}.span_id": event.span_id,
    }
    _put(attributes, f"{_D}.tier", event.tier)
    if content and event.input:
        attributes[c.GEN_AI_INPUT_MESSAGES] = _messages("user", event.input)
    return attributes


def agent_finished_attributes(event: AgentFinished, content: bool) -> Attributes:
    attributes: Attributes = {f"{_D}.status": event.status, f"{_D}.turns": event.turns}
    _put(attributes, f"{_D}.cost_usd", event.cost_usd)
    if event.status != "ok":
        attributes[c.ERROR_TYPE] = str((event.error or {}).get("type") or event.status)
    if content and event.output is not None:
        attributes[c.GEN_AI_OUTPUT_MESSAGES] = _messages("assistant", event.output)
    return attributes


def model_call_attributes(event: ModelCall, content: bool) -> Attributes:
    """gen_ai.request.model is the registry's name (what was asked for, as in `chat {model}`);
    gen_ai.response.model the provider's id of the model that answered."""
    provider, response_model = split_model(event.provider_model or event.model)
    attributes: Attributes = {
        c.GEN_AI_OPERATION_NAME: c.OP_CHAT,
        c.GEN_AI_PROVIDER_NAME: provider,
        c.GEN_AI_REQUEST_MODEL: event.model,
        c.GEN_AI_RESPONSE_MODEL: response_model,
        c.GEN_AI_AGENT_NAME: event.agent,
        c.GEN_AI_CONVERSATION_ID: event.run_id,
        c.GEN_AI_USAGE_INPUT_TOKENS: event.input_tokens,
        c.GEN_AI_USAGE_OUTPUT_TOKENS: event.output_tokens,
        c.GEN_AI_RESPONSE_FINISH_REASONS: [event.finish_reason],
        f"{_D}.span_id": event.span_id,
        f"{_D}.provider_model": event.provider_model,
        f"{_D}.latency_ms": event.latency_ms,
        f"{_D}.retries": event.retries,
        f"{_D}.unpriced": event.unpriced,
    }
    if event.cached_input_tokens:
        attributes[c.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = event.cached_input_tokens
    _put(attributes, c.GEN_AI_RESPONSE_ID, event.request_id)
    if event.ttft_ms is not None:
        attributes[c.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = event.ttft_ms / 1000
    _put(attributes, f"{_D}.tier", event.tier)
    _put(attributes, f"{_D}.cost_usd", event.cost_usd)
    if event.tool_calls:
        attributes[f"{_D}.tool_calls"] = list(event.tool_calls)
    if content and event.text:
        attributes[c.GEN_AI_OUTPUT_MESSAGES] = _messages("assistant", event.text)
    return attributes


def tool_call_attributes(event: ToolCallEvent, content: bool) -> Attributes:
    attributes: Attributes = {
        c.GEN_AI_OPERATION_NAME: c.OP_EXECUTE_TOOL,
        c.GEN_AI_TOOL_NAME: event.tool,
        c.GEN_AI_TOOL_CALL_ID: event.call_id,
        c.GEN_AI_TOOL_TYPE: "function",
        c.GEN_AI_AGENT_NAME: event.agent,
        f"{_D}.span_id": event.span_id,
        f"{_D}.ok": event.ok,
        f"{_D}.duration_ms": event.duration_ms,
        f"{_D}.output_bytes": event.output_bytes,
        f"{_D}.cached": event.cached,
    }
    if not event.ok:
        attributes[c.ERROR_TYPE] = event.error_kind or "tool_error"
    if event.signals:
        # Signals are parsed facts (row counts, SQL error class, failing tests), not content.
        attributes[f"{_D}.signals"] = _text(event.signals)
    if content:
        attributes[c.GEN_AI_TOOL_CALL_ARGUMENTS] = _text(event.arguments)
        attributes[c.GEN_AI_TOOL_CALL_RESULT] = redact(event.error or event.output)
    return attributes


def escalation_attributes(event: EscalationEvent, content: bool) -> Attributes:
    """The episode: trigger, mode, outcome, cost; the why only if the framework wrote it."""
    prefix = f"{_D}.escalation"
    attributes: Attributes = {
        f"{prefix}.trigger": event.trigger,
        f"{prefix}.outcome": event.outcome,
        f"{prefix}.from_model": event.from_model,
        f"{prefix}.depth": event.depth,
        f"{prefix}.back_to_back": event.back_to_back,
        f"{_D}.span_id": event.span_id,
    }
    _put(attributes, f"{prefix}.mode", event.mode)
    _put(attributes, f"{prefix}.to_model", event.to_model)
    _put(attributes, f"{prefix}.cost_usd", event.cost_usd)
    _put(attributes, f"{prefix}.refused_because", event.refused_because)
    if event.agent:
        attributes[c.GEN_AI_AGENT_NAME] = event.agent
    # A worker's own escalate call words its reason (model output); a detector's, gate's or
    # budget's reason is ours.
    if content or event.trigger != "self":
        attributes[f"{prefix}.reason"] = redact(event.reason)
    if content:
        if event.question:
            attributes[f"{prefix}.question"] = redact(event.question)
        if event.guidance:
            attributes[f"{prefix}.guidance"] = redact(event.guidance)
    return attributes


def span_event(
    event: RouteEvent | DetectorVerdictEvent | EscalationEvent | Note | ModelRetry | ModelFallback,
    content: bool,
) -> tuple[str, Attributes]:
    """The span event (name, attributes) that records a decision on its parent span."""
    if isinstance(event, EscalationEvent):
        return f"{_D}.escalation", escalation_attributes(event, content)
    attributes: Attributes = {f"{_D}.span_id": event.span_id}
    if isinstance(event, RouteEvent):
        attributes |= {
            f"{_D}.route.router": event.router,
            f"{_D}.route.candidates": list(event.candidates),
            f"{_D}.route.chosen": event.chosen or "",
            f"{_D}.route.reason": redact(event.reason),
            f"{_D}.route.valid": event.valid,
            f"{_D}.route.attempt": event.attempt,
        }
        _put(attributes, f"{_D}.route.score", event.score)
        _put(attributes, f"{_D}.route.threshold", event.threshold)
        if content and event.arguments is not None:
            attributes[f"{_D}.route.arguments"] = _text(event.arguments)
        return f"{_D}.route", attributes
    if isinstance(event, DetectorVerdictEvent):
        attributes |= {
            f"{_D}.detector.name": event.detector,
            f"{_D}.detector.verdict": event.verdict,
            f"{_D}.detector.step": event.step,
            f"{_D}.detector.action": event.action,
            c.GEN_AI_AGENT_NAME: event.agent,
        }
        if content and event.evidence:  # evidence quotes the actions the model took
            attributes[f"{_D}.detector.evidence"] = _text(event.evidence)
        return f"{_D}.detector", attributes
    if isinstance(event, ModelRetry):
        attributes |= {
            f"{_D}.retry.model": event.model,
            f"{_D}.retry.attempt": event.attempt,
            f"{_D}.retry.delay_s": event.delay_s,
            c.ERROR_TYPE: str(event.error.get("type") or "error"),
        }
        _put(attributes, f"{_D}.retry.status_code", event.status_code)
        return f"{_D}.model_retry", attributes
    if isinstance(event, ModelFallback):
        attributes |= {
            f"{_D}.fallback.from_model": event.from_model,
            f"{_D}.fallback.to_model": event.to_model or "",
            f"{_D}.fallback.reason": redact(event.reason),
        }
        return f"{_D}.model_fallback", attributes
    if event.agent:
        attributes[c.GEN_AI_AGENT_NAME] = event.agent
    if content:  # notes quote the overwatch's advice and other model text
        attributes[f"{_D}.note.message"] = redact(event.message)
    return f"{_D}.note", attributes
