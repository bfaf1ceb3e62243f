"""Retries and fallbacks for relayed requests, with the library's own layers.

Each OpenAI-compatible deployment becomes a `Model` whose `request` relays the current client
request (held in a context variable: the seam's `ModelRequest` carries no bytes) to that
deployment once. The registry's settings then apply as they do to every model call:
`RetryingModel` with the deployment's `num_retries` (429, 5xx and connection errors, jittered
exponential backoff or the upstream's Retry-After) inside `FallbackModel` over the model and
its `dispatcher.fallbacks` (with their cooldowns). Retries and fallbacks are `model_retry` /
`model_fallback` events in the request's trace.

A stream can only change course before its first byte reaches the client: a failure after
that is wrapped in `Committed`, which neither layer catches, and ends the stream with
OpenAI's in-stream error event.
"""

from __future__ import annotations

import contextvars
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dispatcher.gateway._asgi import Reply
from dispatcher.gateway._wire import ChatRequest
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models import FallbackModel, RetryingModel, RetryPolicy
from dispatcher.models._guard import check_real_request_allowed
from dispatcher.models.base import Model
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import Registry, _num_retries

if TYPE_CHECKING:
    import aiohttp

    from dispatcher.gateway._passthrough import Upstream

__all__ = ["Committed", "Exchange", "RelayDeployment", "relay_chains"]

_log = logging.getLogger("dispatcher.gateway")


def route_of(profile: ModelProfile) -> str:
    """The `x-dispatcher-route` value of a deployment that answers."""
    return f"{profile.tier or 'direct'}/{profile.name}"


@dataclass
class Exchange:
    """One client request being relayed, and what the attempt that answered left behind."""

    reply: Reply
    client: aiohttp.ClientSession
    request: ChatRequest
    body: dict[str, Any]
    headers: dict[str, str]
    drop_usage: bool
    answered_by: ModelProfile | None = None
    last: bytes = b""  # held back until the trace is complete
    _payloads: dict[str, bytes] = field(default_factory=dict)

    def payload(self, upstream: Upstream) -> bytes:
        """The client's body with `model` set to this upstream's model id."""
        found = self._payloads.get(upstream.model_id)
        if found is None:
            self.body["model"] = upstream.model_id
            found = self._payloads[upstream.model_id] = json.dumps(self.body).encode()
        return found


_EXCHANGE: contextvars.ContextVar[Exchange] = contextvars.ContextVar("dispatcher_gateway_exchange")


class Committed(Exception):
    """A failure after the client got bytes: no retry, no fallback; `error` is the cause."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class RelayDeployment:
    """One OpenAI-compatible deployment as a Model: relays the current exchange there once."""

    def __init__(self, profile: ModelProfile, upstream: Upstream) -> None:
        self.model_id = profile.name
        self.profile = profile
        self.upstream = upstream

    async def request(self, request: ModelRequest) -> ModelResponse:
        from dispatcher.gateway._passthrough import relay_json, relay_stream, transport_error

        exchange = _EXCHANGE.get()
        profile, upstream = self.profile, self.upstream
        check_real_request_allowed(upstream.model_id)
        payload = exchange.payload(upstream)
        try:
            if exchange.request.stream:
                exchange.headers["x-dispatcher-route"] = route_of(profile)
                response, held = await relay_stream(
                    exchange.reply,
                    exchange.client,
                    profile,
                    upstream,
                    payload,
                    exchange.headers,
                    exchange.drop_usage,
                )
                exchange.last = held + b"data: [DONE]\n\n"
            else:
                response, exchange.last = await relay_json(
                    exchange.client, profile, upstream, payload
                )
        except Exception as exc:
            error = transport_error(exc, profile)
            if exchange.reply.started:
                raise Committed(error) from exc
            raise error from exc
        exchange.answered_by = profile
        exchange.headers["x-dispatcher-route"] = route_of(profile)
        return response


def relay_chains(registry: Registry, upstreams: dict[str, Upstream | None]) -> dict[str, Model]:
    """Per relayed model name: its deployment with retries, behind its fallbacks if any."""
    deployments: dict[str, Model] = {}
    for name, upstream in upstreams.items():
        if upstream is not None:
            profile = registry.profile(name)
            policy = RetryPolicy(max_retries=_num_retries(profile))
            deployments[name] = RetryingModel(RelayDeployment(profile, upstream), policy=policy)
    settings = registry.config.settings
    chains: dict[str, Model] = {}
    for name, deployment in deployments.items():
        backups = settings.fallbacks.get(name, [])
        usable = [b for b in backups if b in deployments]
        if len(usable) < len(backups):
            _log.warning(
                "dispatcher.fallbacks.%s: %s not OpenAI-compatible, so requests relayed to %s "
                "do not fall back to them",
                name,
                ", ".join(b for b in backups if b not in deployments),
                name,
            )
        if not usable:
            chains[name] = deployment
            continue
        candidates = [(name, deployment), *((b, deployments[b]) for b in usable)]
        chains[name] = FallbackModel(candidates, cooldown_s=settings.fallback_cooldown_s)
    return chains


async def relay_through(chain: Model, exchange: Exchange) -> ModelResponse:
    """The exchange relayed through `chain` (retries, fallbacks); the answer's response."""
    token = _EXCHANGE.set(exchange)
    try:
        return await chain.request(_NO_MESSAGES)
    finally:
        _EXCHANGE.reset(token)


# The seam's request is not read by a relay: the exchange holds the client's bytes.
_NO_MESSAGES = ModelRequest(messages=())
