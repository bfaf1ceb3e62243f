"""Registry models that do not speak the OpenAI wire format (Anthropic), served through the
model seam: the Chat Completions request becomes a `ModelRequest`, the registry's model
(with its retries and fallbacks) answers, and the answer is written back as Chat Completions.

Text and tool calls make the trip (tools, tool_choice, assistant tool calls, tool results,
max_tokens, temperature, response_format as the response schema); other content parts are
refused with a 400. A stream sends the model's text as it writes it (adapters that stream:
Anthropic, OpenAI), whole words at a time, then the tool calls, if any, once the turn is
done. Retries and fallbacks apply until the first text is sent; after that, a failure ends
the stream with an error event (a second attempt's text would be appended to the first one's).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from typing import Any

from dispatcher._streaming import ModelTextDelta, RunStream
from dispatcher.gateway._asgi import SSE, Reply
from dispatcher.gateway._errors import GatewayError, gateway_error
from dispatcher.gateway._wire import ChatMessage, ChatRequest, chunk_bytes
from dispatcher.messages import (
    AssistantMessage,
    ForcedTool,
    Message,
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolChoice,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from dispatcher.models._text_deltas import (
    TextWriter,
    WriterFactory,
    current_listener,
    text_listener,
)
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import Registry
from dispatcher.runner import RunResult, new_run_id, run_session
from dispatcher.trace.events import ModelFallback, ModelRetry
from dispatcher.trace.sink import TraceSink
from dispatcher.trace.tracer import use_tracer

__all__ = ["answer_via_model", "model_request"]

_FINISH = {"stop": "stop", "tool_calls": "tool_calls", "length": "length"}


def _text(message: ChatMessage, index: int) -> str:
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise GatewayError(
                400,
                f"messages[{index}]: only text content parts reach this model through the gateway",
                param=f"messages.{index}.content",
            )
        parts.append(part["text"])
    return "\n".join(parts)


def _tool_calls(message: ChatMessage, index: int) -> tuple[ToolCall, ...]:
    raw = (message.model_extra or {}).get("tool_calls") or []
    if not isinstance(raw, list):  # dropped, the tool results after it would answer nothing
        raise GatewayError(
            400,
            f"messages[{index}].tool_calls must be a list",
            param=f"messages.{index}.tool_calls",
        )
    calls: list[ToolCall] = []
    for call in raw:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise GatewayError(
                400,
                f"messages[{index}].tool_calls: each needs function.name",
                param=f"messages.{index}.tool_calls",
            )
        arguments = function.get("arguments")
        calls.append(
            ToolCall(
                id=str(call.get("id") or f"call_{index}_{len(calls)}"),
                name=function["name"],
                arguments=arguments if isinstance(arguments, str) else json.dumps(arguments or {}),
            )
        )
    return tuple(calls)


def _tools(request: ChatRequest) -> tuple[ToolSpec, ...]:
    specs: list[ToolSpec] = []
    for index, tool in enumerate(request.tools or ()):
        function = tool.get("function")
        if (
            tool.get("type") != "function"
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
        ):
            raise GatewayError(
                400,
                f"tools[{index}] must be {{type: function, function: {{name, parameters}}}}",
                param=f"tools.{index}",
            )
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise GatewayError(
                400,
                f"tools[{index}].function.parameters must be a JSON Schema object",
                param=f"tools.{index}",
            )
        name = function["name"]
        if not name.strip():
            raise GatewayError(
                400, f"tools[{index}].function.name is empty", param=f"tools.{index}"
            )
        if any(spec.name == name for spec in specs):
            # Providers refuse two tools of one name; say which, not the provider's 400.
            raise GatewayError(
                400,
                f"tools[{index}]: a tool named {name!r} is already given"[:200],
                param=f"tools.{index}",
            )
        specs.append(ToolSpec(name, str(function.get("description") or ""), parameters))
    return tuple(specs)


def _tool_choice(body: dict[str, Any], tools: tuple[ToolSpec, ...]) -> ToolChoice:
    choice = body.get("tool_choice", "auto")
    if choice == "required" and not tools:
        raise GatewayError(
            400, "tool_choice is required but no tools are given", param="tool_choice"
        )
    if choice in ("auto", "required", "none"):
        return choice  # type: ignore[no-any-return]
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(name, str):
        raise GatewayError(
            400,
            "tool_choice must be auto, required, none or {type: function, function: {name}}",
            param="tool_choice",
        )
    if name not in {tool.name for tool in tools}:
        raise GatewayError(
            400, f"tool_choice names {name!r}, which is not one of `tools`", param="tool_choice"
        )
    return ForcedTool(name)


def _number(body: dict[str, Any], name: str, kind: type[int] | type[float]) -> Any:
    """`body[name]` when it is a number of `kind` (a bool is not one), else a 400."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | kind):
        raise GatewayError(400, f"{name} must be a number, got {value!r}"[:200], param=name)
    return value


def _max_tokens(body: dict[str, Any]) -> int | None:
    """The output token cap asked for; below 1 is a 400 (it was dropped, leaving no cap)."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = _number(body, name, int)
        if value is not None:
            if value < 1:
                raise GatewayError(400, f"{name} must be at least 1, got {value}", param=name)
            return int(value)
    return None


def _response_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """`response_format` as the seam's response schema (JSON asked for must not become free
    text); one it cannot carry is a 400."""
    asked = body.get("response_format")
    kind = asked.get("type") if isinstance(asked, dict) else None
    if asked is None or kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    spec = asked.get("json_schema") if kind == "json_schema" else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if isinstance(schema, dict):
        return schema
    raise GatewayError(
        400,
        "response_format must be {type: text}, {type: json_object} or "
        "{type: json_schema, json_schema: {name, schema: {...}}}",
        param="response_format",
    )


def model_request(request: ChatRequest, body: dict[str, Any]) -> ModelRequest:
    """The Chat Completions request as the model seam's request (400 on what cannot map)."""
    system: list[str] = []
    messages: list[Message] = []
    names: dict[str, str] = {}  # tool call id -> tool name, for the tool results
    for index, message in enumerate(request.messages):
        if message.role in ("system", "developer"):
            system.append(_text(message, index))
        elif message.role == "user":
            messages.append(UserMessage(_text(message, index)))
        elif message.role == "assistant":
            calls = _tool_calls(message, index)
            names.update((call.id, call.name) for call in calls)
            messages.append(AssistantMessage(_text(message, index), calls))
        else:
            call_id = (message.model_extra or {}).get("tool_call_id")
            if not isinstance(call_id, str):
                raise GatewayError(
                    400,
                    f"messages[{index}]: a tool message needs tool_call_id",
                    param=f"messages.{index}.tool_call_id",
                )
            if call_id not in names:
                raise GatewayError(
                    400,
                    f"messages[{index}]: tool_call_id {call_id[:80]!r} answers no tool call of "
                    "an earlier assistant message",
                    param=f"messages.{index}.tool_call_id",
                )
            messages.append(ToolResultMessage(call_id, names[call_id], _text(message, index)))
    if request.n not in (None, 1):
        raise GatewayError(400, f"{request.model} returns one choice; set n to 1", param="n")
    if not messages:
        raise GatewayError(
            400,
            f"messages: {request.model} needs a user message, not only system instructions",
            param="messages",
        )
    max_tokens = _max_tokens(body)
    temperature = _number(body, "temperature", float)
    tools = _tools(request)
    return ModelRequest(
        messages=messages,
        system="\n\n".join(system),
        tools=tools,
        tool_choice=_tool_choice(body, tools),
        max_output_tokens=max_tokens,
        temperature=None if temperature is None else float(temperature),
        response_schema=_response_schema(body),
        metadata={"agent": "gateway"},
    )


def _message(response: ModelResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": response.text or None}
    if response.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in response.tool_calls
        ]
    return message


async def answer_via_model(
    reply: Reply,
    *,
    registry: Registry,
    profile: ModelProfile,
    request: ChatRequest,
    wire_request: ModelRequest,
) -> None:
    """Answer one request (`wire_request`: `model_request` of it) through the registry's
    model, traced as a run."""
    run_id = new_run_id()
    headers = {
        "x-dispatcher-run-id": run_id,
        "x-dispatcher-route": f"{profile.tier or 'direct'}/{profile.name}",
        "x-dispatcher-escalations": "0",
    }
    reply.headers = headers
    if request.stream:
        await _stream_live(reply, registry, profile, request, wire_request, run_id, headers)
        return
    try:
        last_user = next(
            (m.content for m in reversed(wire_request.messages) if isinstance(m, UserMessage)), ""
        )
        async with run_session(
            registry, last_user, entry=f"model/{profile.name}", run_id=run_id
        ) as (run, outcome):
            run.budget.check()
            with use_tracer(run.tracer, None):  # retries and fallbacks go in the trace
                response = await registry.model(profile.name).request(wire_request)
            run.record_model_call(
                agent="gateway", profile=profile, response=response, parent_id=None
            )
            outcome.answer = response.text
    except Exception as exc:
        await reply.error(gateway_error(exc, run_id=run_id, passthrough=True), headers)
        return
    completion_id = f"chatcmpl-{run_id}"
    created = int(time.time())
    finish = _FINISH.get(response.finish_reason, "stop")
    usage = {
        "prompt_tokens": response.usage.input_tokens,
        "completion_tokens": response.usage.output_tokens,
        "total_tokens": response.usage.total_tokens,
    }
    answer = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "choices": [
            {"index": 0, "message": _message(response), "finish_reason": finish, "logprobs": None}
        ],
        "usage": usage,
    }
    await reply.json(200, json.dumps(answer).encode(), headers)


class _ChangedCourse(Exception):
    """A retry or fallback began after text was sent: its text cannot follow the first's."""


def _once_text_is_out(factory: WriterFactory | None, run_id: str) -> WriterFactory:
    """`factory`, refusing a second model call once a call's text went to the client.

    Raised inside the new attempt, the error is not one the retry or fallback layers take:
    the run fails at once instead of producing a second answer nobody will see.
    """
    assert factory is not None, "RunStream(model_text=True) installs the listener"
    wrote = False

    class Tracked:
        def __init__(self, inner: TextWriter) -> None:
            self._inner = inner

        def write(self, text: str) -> None:
            nonlocal wrote
            wrote = wrote or bool(text)
            self._inner.write(text)

        def end(self) -> None:
            self._inner.end()

    def guarded(model_id: str) -> TextWriter:
        if wrote:
            raise _ChangedCourse(
                "the model failed after part of its answer was sent, so it cannot be retried "
                f"or replaced (trace of run {run_id})"
            )
        return Tracked(factory(model_id))

    return guarded


async def _stream_live(
    reply: Reply,
    registry: Registry,
    profile: ModelProfile,
    request: ChatRequest,
    wire_request: ModelRequest,
    run_id: str,
    headers: dict[str, str],
) -> None:
    """A streamed answer whose text goes out as the model writes it."""
    completion_id = f"chatcmpl-{run_id}"
    created = int(time.time())
    chunk = functools.partial(
        chunk_bytes, completion_id=completion_id, model=request.model, created=created
    )
    answered: list[ModelResponse] = []

    async def work(sinks: Sequence[TraceSink]) -> RunResult:
        with text_listener(_once_text_is_out(current_listener(), run_id)):
            return await traced_call(sinks)

    async def traced_call(sinks: Sequence[TraceSink]) -> RunResult:
        last_user = next(
            (m.content for m in reversed(wire_request.messages) if isinstance(m, UserMessage)), ""
        )
        async with run_session(
            registry, last_user, entry=f"model/{profile.name}", run_id=run_id, sinks=sinks
        ) as (run, outcome):
            run.budget.check()
            with use_tracer(run.tracer, None):
                response = await registry.model(profile.name).request(wire_request)
            run.record_model_call(
                agent="gateway", profile=profile, response=response, parent_id=None
            )
            outcome.answer = response.text
        answered.append(response)
        return RunResult(run_id, response.text, "ok", None, None, run.trace_path)

    async def start() -> None:
        if not reply.started:
            await reply.start(200, headers, SSE)
            await reply.write(chunk(delta={"role": "assistant", "content": ""}))

    sent_text = False
    try:
        async with RunStream(work, model_text=True) as items:
            async for item in items:
                if isinstance(item, ModelTextDelta):
                    await start()
                    await reply.write(chunk(delta={"content": item.text}))
                    sent_text = True
                elif not sent_text and isinstance(item, ModelFallback) and item.to_model:
                    backup = registry.profile(item.to_model)  # the route is the one answering
                    headers["x-dispatcher-route"] = f"{backup.tier or 'direct'}/{backup.name}"
                elif sent_text and isinstance(item, ModelRetry | ModelFallback):
                    raise _ChangedCourse(
                        "the model failed after part of its answer was sent, so it cannot be "
                        f"retried or replaced (trace of run {run_id})"
                    )
    except _ChangedCourse as exc:
        await reply.error(GatewayError(502, str(exc), "upstream_error"), headers)
        return
    except Exception as exc:
        await reply.error(gateway_error(exc, run_id=run_id, passthrough=True), headers)
        return
    (response,) = answered
    message = _message(response)
    await start()
    last: dict[str, Any] = {}
    if not sent_text and message["content"]:  # a model that does not stream its text
        last["content"] = message["content"]
    if "tool_calls" in message:
        last["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    parts = [chunk(delta=last)] if last else []
    parts.append(chunk(delta={}, finish_reason=_FINISH.get(response.finish_reason, "stop")))
    if request.include_usage:
        usage = {
            "prompt_tokens": response.usage.input_tokens,
            "completion_tokens": response.usage.output_tokens,
            "total_tokens": response.usage.total_tokens,
        }
        parts.append(chunk(usage=usage))
    await reply.finish(b"".join(parts) + b"data: [DONE]\n\n")
