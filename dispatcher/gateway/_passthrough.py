"""Registry models served directly: the client's request goes to the upstream as sent (only
`model` is replaced), and the upstream's bytes come back as they arrive.

OpenAI-compatible upstreams only (openai/, vllm/, ollama/, ...): relaying the wire format
untouched keeps every field, tool calls included, and costs almost nothing per chunk. Each
request is still a run with a trace: `run_started`, `model_call` (tokens and cost from the
upstream's usage) and `run_finished`.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatcher.errors import (
    MalformedResponseError,
    ModelConnectionError,
    ProviderError,
    StreamStalledError,
)
from dispatcher.gateway._asgi import SSE, Reply
from dispatcher.gateway._errors import gateway_error
from dispatcher.gateway._relay_chain import Committed, Exchange, relay_through, route_of
from dispatcher.gateway._wire import ChatRequest
from dispatcher.messages import ModelResponse, Usage
from dispatcher.models._provider_errors import mentions_context_overflow, provider_error
from dispatcher.models.base import Model
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import Registry
from dispatcher.runner import new_run_id, run_session
from dispatcher.trace.sink import TraceSink
from dispatcher.trace.tracer import use_tracer

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Upstream", "relay", "relay_json", "relay_stream", "transport_error", "upstream_for"]

_OPENAI_URL = "https://api.openai.com/v1"
# Sent to servers that need no key (the same placeholder the OpenAI adapter sends).
_PLACEHOLDER_KEY = "not-needed"
# The usage-only chunk that `stream_options.include_usage` adds at the end of a stream.
_USAGE_ONLY = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_AGENT = "gateway"
# Without `timeout` / `stream_timeout` in litellm_params: what the model adapters default to.
_DEFAULT_READ_TIMEOUT_S = 600.0
# An answer (or one event of a stream) past this is not buffered further: the upstream is
# broken or hostile; no Chat Completion comes near it.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
MAX_EVENT_BYTES = 16 * 1024 * 1024
_REDACTED = b"[REDACTED]"
_MAX_TOKENS = 2**40


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where a registry model's Chat Completions requests go."""

    url: str
    model_id: str
    api_key_env: str | None
    # LiteLLM's `timeout` / `stream_timeout` from litellm_params: the longest silence allowed
    read_timeout_s: float | None = None

    def headers(self, profile: ModelProfile) -> dict[str, str]:
        # A key read from a variable must be there; a keyless local server gets a placeholder.
        key = profile.require_api_key() if profile.api_key_env else _PLACEHOLDER_KEY
        return {"authorization": f"Bearer {key}", "content-type": "application/json"}

    def timeout(self) -> aiohttp.ClientTimeout:
        """One request's limits: 10 s to connect, then at most this long without a byte."""
        return _timeout(self.read_timeout_s or _DEFAULT_READ_TIMEOUT_S)


@functools.lru_cache(maxsize=64)
def _timeout(read_timeout_s: float) -> aiohttp.ClientTimeout:
    # Built once per distinct limit (it is immutable), not once per request.
    import aiohttp

    return aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout_s)


def upstream_for(profile: ModelProfile) -> Upstream | None:
    """The upstream of an OpenAI-compatible profile; None for other wire APIs (Anthropic)."""
    from dispatcher.models.factory import _OPENAI_COMPATIBLE, _ollama_openai_base

    prefix, _, model_id = profile.provider_model.partition("/")
    if prefix == "openai":
        base = profile.api_base or _OPENAI_URL
    elif prefix in _OPENAI_COMPATIBLE and profile.api_base:
        base = profile.api_base
        if prefix in ("ollama", "ollama_chat"):
            base = _ollama_openai_base(base)
    else:
        return None
    options = profile.options
    limit = options.get("stream_timeout", options.get("timeout"))
    read_timeout = float(limit) if isinstance(limit, int | float) and limit > 0 else None
    return Upstream(
        base.rstrip("/") + "/chat/completions", model_id, profile.api_key_env, read_timeout
    )


def _last_user_text(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            content = message.content
            if isinstance(content, str):
                return content
            return " ".join(str(p.get("text", "")) for p in content or () if isinstance(p, dict))
    return ""


async def relay(
    reply: Reply,
    *,
    registry: Registry,
    client: aiohttp.ClientSession,
    profile: ModelProfile,
    chain: Model,
    runs_dir: Path,
    request: ChatRequest,
    body: dict[str, Any],
    trace_log: TraceSink | None,
) -> None:
    """Answer one request from the upstream through `chain` (the model's retries and
    fallbacks), tracing it as a run; errors in OpenAI's shape.

    With `trace_log`, the run's events go there instead of to a file of their own.
    """
    run_id = new_run_id()
    headers = {
        "x-dispatcher-run-id": run_id,
        "x-dispatcher-route": route_of(profile),
        "x-dispatcher-escalations": "0",
    }
    reply.headers = headers
    drop_usage = False
    if request.stream and not request.include_usage:
        # Asked for anyway: the trace needs the token counts; the client does not get them.
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        drop_usage = True
    exchange = Exchange(reply, client, request, body, headers, drop_usage)
    try:
        async with run_session(
            registry,
            _last_user_text(request),
            entry=f"model/{profile.name}",
            run_id=run_id,
            runs_dir=runs_dir,
            write_trace=trace_log is None,
            sinks=() if trace_log is None else (trace_log,),
        ) as (run, outcome):
            run.budget.check()
            with use_tracer(run.tracer, None):
                response = await relay_through(chain, exchange)
            answered = exchange.answered_by or profile
            run.record_model_call(agent=_AGENT, profile=answered, response=response, parent_id=None)
            outcome.answer = response.text
    except Exception as exc:
        cause = exc.error if isinstance(exc, Committed) else exc
        await reply.error(gateway_error(cause, run_id=run_id, passthrough=True), headers)
        return
    # The last bytes go out after `run_finished`: a client holding its answer finds the trace
    # complete.
    if request.stream:
        await reply.finish(exchange.last)
    else:
        await reply.json(200, exchange.last, headers)


async def relay_json(
    client: aiohttp.ClientSession, profile: ModelProfile, upstream: Upstream, payload: bytes
) -> tuple[ModelResponse, bytes]:
    """The upstream's answer (read for the trace) and its bytes, to be relayed as they are."""
    started = time.perf_counter()
    async with client.post(
        upstream.url,
        data=payload,
        headers=upstream.headers(profile),
        timeout=upstream.timeout(),
        allow_redirects=False,
    ) as answer:
        data = await _read_capped(answer, profile)
    if answer.status >= 300:
        raise _upstream_error(answer.status, data, answer.headers, profile)
    key = _own_key(profile)
    if key is not None and key in data:  # an upstream that tells the gateway's key back
        data = data.replace(key, _REDACTED)
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):  # a proxy's page, an empty 204: not an answer to relay
        raise MalformedResponseError(
            f"the upstream's answer is not a JSON object ({answer.content_type})",
            model=profile.name,
        )
    if not isinstance(parsed.get("choices"), list):
        if "error" in parsed:  # an error sent with 200, as some proxies do
            raise _upstream_error(502, data, answer.headers, profile)
        raise MalformedResponseError(
            "the upstream's answer is not a chat completion (it has no choices)",
            model=profile.name,
        )
    try:
        message = parsed["choices"][0]["message"]
        text = message.get("content") or ""
        usage = parsed.get("usage") or {}
    except (ValueError, LookupError, TypeError, AttributeError):
        text, usage = "", {}  # relayed as sent; the trace just lacks what it could not read
    response = ModelResponse(
        text=text,
        usage=_usage(usage),
        model=profile.provider_model,
        latency_ms=(time.perf_counter() - started) * 1000,
        request_id=answer.headers.get("x-request-id"),
    )
    return response, data


async def relay_stream(
    reply: Reply,
    client: aiohttp.ClientSession,
    profile: ModelProfile,
    upstream: Upstream,
    payload: bytes,
    headers: Mapping[str, str],
    drop_usage: bool,
) -> tuple[ModelResponse, bytes]:
    """Relay the events as they come; returns the trace's response and the held-back tail."""
    started = time.perf_counter()
    ttft_ms: float | None = None
    usage: Mapping[str, Any] = {}
    done = False
    pending = b""
    held: list[bytes] = []
    async with client.post(
        upstream.url,
        data=payload,
        headers=upstream.headers(profile),
        timeout=upstream.timeout(),
        allow_redirects=False,
    ) as answer:
        if answer.status >= 300:
            data = await _read_capped(answer, profile)
            raise _upstream_error(answer.status, data, answer.headers, profile)
        if answer.content_type != SSE:  # a proxy's page, a JSON answer: not a stream to relay
            raise MalformedResponseError(
                f"the upstream answered a stream with {answer.content_type}, not {SSE}",
                model=profile.name,
            )
        key = _own_key(profile)
        async for raw in answer.content.iter_any():
            if ttft_ms is None:
                ttft_ms = (time.perf_counter() - started) * 1000
            pending += raw
            if b"\r" in pending:  # on the buffer: a "\r\n" may be split across two reads
                pending = pending.replace(b"\r\n", b"\n")
            *events, pending = pending.split(b"\n\n")
            if len(pending) > MAX_EVENT_BYTES:
                raise _too_large(profile, "an event of its stream", MAX_EVENT_BYTES)
            out = []
            for event in events:
                if event.startswith(b"data:"):
                    data = event[5:].strip()
                    if data == b"[DONE]":
                        done = True  # sent by the caller once the run is traced
                        break
                    # A look at its ends, not a parse (that would cost more than relaying):
                    # enough to stop a truncated or non-JSON event the SDKs would choke on.
                    if not (data.startswith(b"{") and data.endswith(b"}")):
                        raise MalformedResponseError(
                            "an event of the upstream's stream is not a JSON object",
                            model=profile.name,
                        )
                if b'"usage"' in event and _USAGE_ONLY.search(event):
                    usage = _event_usage(event)
                    if drop_usage:
                        continue
                out.append(event + b"\n\n")
            if done:  # the stream's last read: it goes out with [DONE], one write, not two
                held.extend(out)
                break  # whatever an upstream sends after [DONE] is no part of the answer
            if out:
                if not reply.started:  # until now a failure may still retry or fall back
                    await reply.start(200, headers, SSE)
                await reply.write(_without(key, b"".join(out)))
    if not done:
        raise ModelConnectionError(
            "the upstream stream ended before [DONE] (connection dropped?)",
            model=profile.provider_model,
        )
    if not reply.started:  # the whole answer came in one read
        await reply.start(200, headers, SSE)
    response = ModelResponse(
        text="",
        usage=_usage(usage),
        model=profile.provider_model,
        latency_ms=(time.perf_counter() - started) * 1000,
        ttft_ms=ttft_ms,
        request_id=answer.headers.get("x-request-id"),
    )
    return response, _without(key, b"".join(held))


def _own_key(profile: ModelProfile) -> bytes | None:
    """The key the gateway sends this upstream (redacted from what it answers)."""
    key = profile.api_key()
    return key.encode() if key else None


def _without(key: bytes | None, data: bytes) -> bytes:
    """`data` without the gateway's own key (an upstream may tell it back; never the client).

    A key an upstream streams in pieces over several events is not caught: it would take
    holding text back, as dispatcher/auto streams do.
    """
    return data.replace(key, _REDACTED) if key is not None and key in data else data


async def _read_capped(answer: aiohttp.ClientResponse, profile: ModelProfile) -> bytes:
    parts = []
    size = 0
    async for part in answer.content.iter_any():
        size += len(part)
        if size > MAX_ANSWER_BYTES:
            raise _too_large(profile, "its answer", MAX_ANSWER_BYTES)
        parts.append(part)
    return b"".join(parts)


def _too_large(profile: ModelProfile, what: str, limit: int) -> MalformedResponseError:
    return MalformedResponseError(
        f"the upstream sent {what} larger than {limit // (1024 * 1024)} MiB; the gateway "
        "stopped reading",
        model=profile.name,
    )


def _event_usage(event: bytes) -> Mapping[str, Any]:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                usage = json.loads(line[5:]).get("usage")
            except (ValueError, AttributeError):
                return {}
            return usage if isinstance(usage, dict) else {}
    return {}


def _usage(usage: Mapping[str, Any]) -> Usage:
    def count(name: str) -> int:
        value = usage.get(name)
        # The upstream's word: a count no model produces (10**400) would break the pricing.
        return value if isinstance(value, int) and 0 <= value < _MAX_TOKENS else 0

    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        count("prompt_tokens"),
        count("completion_tokens"),
        cached if isinstance(cached, int) and 0 <= cached < _MAX_TOKENS else 0,
    )


def _upstream_error(
    status: int, data: bytes, headers: Mapping[str, str], profile: ModelProfile
) -> Exception:
    if status < 400:
        # Followed, a redirect would send the body (and, to the same host, the key) wherever
        # the upstream says: the gateway only talks to the api_base its operator configured.
        return ProviderError(
            "the upstream answered with a redirect, which the gateway does not follow; its "
            "operator must set the model's api_base to the URL that answers",
            model=profile.name,
            status_code=status,
        )
    detail = f"upstream answered HTTP {status}"
    try:
        error = json.loads(data).get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            detail = error["message"]
        elif isinstance(error, str):
            detail = error
    except (ValueError, AttributeError):
        pass
    return provider_error(
        detail[:2000],
        status=status,
        model=profile.name,
        request_id=headers.get("x-request-id"),
        headers=headers,
        context_overflow=status in (400, 413) and mentions_context_overflow([detail]),
    )


def transport_error(exc: Exception, profile: ModelProfile) -> Exception:
    """aiohttp failures as dispatcher errors (their text never carries our headers)."""
    import aiohttp

    if isinstance(exc, TimeoutError):
        return StreamStalledError(f"{type(exc).__name__} from {profile.name}", model=profile.name)
    if isinstance(exc, aiohttp.ClientError):
        return ModelConnectionError(
            f"{type(exc).__name__} talking to {profile.name}", model=profile.name
        )
    return exc
