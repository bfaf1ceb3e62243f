"""The Starlette application: routes, client keys, and the registry behind them."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dispatcher.dispatching import Dispatcher
from dispatcher.errors import ConfigError
from dispatcher.gateway._asgi import ProducedResponse
from dispatcher.gateway._errors import GatewayError
from dispatcher.gateway._passthrough import Upstream, relay, upstream_for
from dispatcher.gateway._relay_chain import relay_chains
from dispatcher.gateway._runs import answer_with_run
from dispatcher.gateway._trace_log import ProcessTraceLog
from dispatcher.gateway._via_model import answer_via_model, model_request
from dispatcher.gateway._wire import MAX_BODY_BYTES, parse_request, task_text
from dispatcher.redaction import register_secret
from dispatcher.trace.sink import default_runs_dir

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AGENT_PREFIX", "AUTO_MODEL", "build_app"]

AUTO_MODEL = "dispatcher/auto"
AGENT_PREFIX = "agent/"
ENV_PREFIX = "os.environ/"

_log = logging.getLogger("dispatcher.gateway")
# The whole request body must arrive within this: a client sending it a byte at a time
# (slowloris) would otherwise hold a connection and a task for as long as it likes.
BODY_TIMEOUT_S = 60.0


def _client_keys(dispatcher: Dispatcher) -> tuple[bytes, ...]:
    """The keys clients must present, read from the environment once at start."""
    keys = []
    for entry in dispatcher.registry.config.settings.gateway.api_keys:
        name = entry[len(ENV_PREFIX) :]
        # Stripped as the presented key is: a newline from a .env file or a secret mount
        # would otherwise make every client's key "wrong".
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(
                f"the gateway's client key ${name} is not set",
                entry="dispatcher.gateway.api_keys",
                fix=f"export {name}=... before `dispatcher serve`, or remove the entry",
            )
        register_secret(value)
        keys.append(_digest(value.encode()))
    return tuple(keys)


def _digest(key: bytes) -> bytes:
    # Keys are compared as digests: compare_digest is constant-time only for inputs of equal
    # length, and a digest's length says nothing about the key's.
    return hashlib.sha256(key).digest()


class _Gateway:
    """What the routes share: the dispatcher, client keys, the upstream HTTP client."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.registry = dispatcher.registry
        self.keys = _client_keys(dispatcher)
        self.specialists = sorted(
            name for name, agent in self.registry.agents.items() if agent.role == "specialist"
        )
        self.upstreams: dict[str, Upstream | None] = {
            name: upstream_for(profile) for name, profile in self.registry.profiles.items()
        }
        # Built once: a fallback's cooldown outlives the request that tripped it.
        self.chains = relay_chains(self.registry, self.upstreams)
        self.client: aiohttp.ClientSession | None = None
        self.runs_dir = self._runs_dir()
        self.trace_log: ProcessTraceLog | None = None
        self.ready = False

    def model_ids(self) -> list[str]:
        return [AUTO_MODEL, *(AGENT_PREFIX + n for n in self.specialists), *self.upstreams]

    def check_key(self, request: Request) -> None:
        if not self.keys:
            return
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        token = _digest(presented.strip().encode())
        # compare_digest over every key: the time taken says nothing about which one is close.
        matched = False
        for key in self.keys:
            matched |= hmac.compare_digest(token, key)
        if scheme.lower() != "bearer" or not matched:
            raise GatewayError(
                401,
                "missing or invalid API key: send `Authorization: Bearer <key>` with a key "
                "listed in the gateway's dispatcher.gateway.api_keys",
                code="invalid_api_key",
            )

    # -- routes ----------------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        self.check_key(request)
        raw = await _body(request)
        parsed, body = parse_request(raw)
        name = parsed.model
        if name == AUTO_MODEL or name.startswith(AGENT_PREFIX):
            agent = None if name == AUTO_MODEL else name[len(AGENT_PREFIX) :]
            if agent is not None and agent not in self.specialists:
                raise _unknown_model(name)
            if not self.specialists:
                raise GatewayError(
                    503,
                    "no specialists are registered: the gateway cannot route",
                    "server_error",
                    "no_specialists",
                )
            task = task_text(parsed)
            if not task.strip():
                raise GatewayError(400, "the messages hold no text to work on", param="messages")
            return ProducedResponse(
                functools.partial(
                    answer_with_run,
                    dispatcher=self.dispatcher,
                    request=parsed,
                    task=task,
                    agent=agent,
                )
            )
        if name not in self.upstreams:
            raise _unknown_model(name)
        upstream = self.upstreams[name]
        if upstream is None:  # not OpenAI's wire format: through the model seam
            return ProducedResponse(
                functools.partial(
                    answer_via_model,
                    registry=self.registry,
                    profile=self.registry.profile(name),
                    request=parsed,
                    wire_request=model_request(parsed, body),  # a 400 before any run
                )
            )
        assert self.client is not None, "the lifespan opened the client"
        return ProducedResponse(
            functools.partial(
                relay,
                registry=self.registry,
                client=self.client,
                profile=self.registry.profile(name),
                chain=self.chains[name],
                runs_dir=self.runs_dir,
                request=parsed,
                body=body,
                trace_log=self.trace_log,
            )
        )

    async def models(self, request: Request) -> Response:
        self.check_key(request)
        data = [_model_object(model) for model in self.model_ids()]
        return JSONResponse({"object": "list", "data": data})

    async def model(self, request: Request) -> Response:
        """GET /v1/models/{id}: the SDKs' `models.retrieve`."""
        self.check_key(request)
        name = request.path_params["model"]
        if name not in self.model_ids():
            raise _unknown_model(name)
        return JSONResponse(_model_object(name))

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if not self.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ready", "models": len(self.model_ids())})

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        # aiohttp, not httpx2: its C HTTP parser costs a fifth of the CPU per relayed request.
        import aiohttp

        # One pool for every upstream, no limit of its own: clients bound the concurrency.
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=600)
        if self.registry.config.settings.gateway.traces == "per_process":
            self.trace_log = ProcessTraceLog(self.runs_dir)
        # No cookie jar: this one client serves every caller, and a cookie an upstream set for
        # one answer would otherwise go out with the next caller's request.
        jar = aiohttp.DummyCookieJar()
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=jar
        ) as client:
            self.client = client
            self.ready = True
            try:
                yield
            finally:
                self.ready = False
                if self.trace_log is not None:
                    self.trace_log.shutdown()

    def _runs_dir(self) -> Path:
        """Where this gateway's runs write (the dispatcher's folder, the config's, the default)."""
        if self.dispatcher.runs_dir is not None:
            return self.dispatcher.runs_dir
        configured = self.registry.config.settings.runs_dir
        return self.registry.config.resolve_path(configured) if configured else default_runs_dir()


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _too_large()
                chunks.append(chunk)
    except TimeoutError:
        raise GatewayError(
            408,
            f"the request body did not arrive within {BODY_TIMEOUT_S:g} s; send it whole, "
            "with a Content-Length that matches it",
            code="request_timeout",
        ) from None
    return b"".join(chunks)


def _too_large() -> GatewayError:
    return GatewayError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "dispatcher"}


def _unknown_model(name: str) -> GatewayError:
    shown = repr(name) if len(name) <= 200 else f"{name[:200]!r}... ({len(name)} characters)"
    return GatewayError(
        404,
        f"the model {shown} does not exist here; GET /v1/models lists the ones served",
        param="model",
        code="model_not_found",
    )


def _error_response(error: GatewayError) -> Response:
    return Response(
        error.json_bytes(), error.status, headers=error.headers, media_type="application/json"
    )


async def _on_gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return _error_response(exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "not_found" if exc.status_code == 404 else None
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return _error_response(GatewayError(exc.status_code, message, code=code))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Never a traceback to a client; the server's log has it.
    return _error_response(GatewayError(500, "internal error", "internal_error"))


class _GatewayApp(Starlette):
    """Starlette, with `POST /v1/chat/completions` taken straight to its handler.

    The hot route skips Starlette's middleware stack and router (their work per request cost
    about as much CPU as tracing it); the errors it can raise are answered the same way.
    """

    def __init__(self, gateway: _Gateway, **options: Any) -> None:
        super().__init__(**options)
        self._chat = gateway.chat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/v1/chat/completions"
            or scope["method"] != "POST"
        ):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        try:
            response = await self._chat(Request(scope, receive))
        except GatewayError as exc:
            response = _error_response(exc)
        except ClientDisconnect:
            return  # it left while sending its body: nobody to answer, nothing went wrong
        except Exception:
            _log.exception("the chat completions handler failed")
            response = _error_response(GatewayError(500, "internal error", "internal_error"))
        await response(scope, receive, send)


def build_app(dispatcher: Dispatcher) -> Starlette:
    """The gateway for `dispatcher`'s registry (client keys are read from the environment)."""
    gateway = _Gateway(dispatcher)
    routes = [
        Route("/v1/chat/completions", gateway.chat, methods=["POST"]),
        Route("/v1/models", gateway.models, methods=["GET"]),
        Route("/v1/models/{model:path}", gateway.model, methods=["GET"]),
        Route("/healthz", gateway.healthz, methods=["GET"]),
        Route("/readyz", gateway.readyz, methods=["GET"]),
    ]
    return _GatewayApp(
        gateway,
        routes=routes,
        lifespan=gateway.lifespan,
        exception_handlers={
            GatewayError: _on_gateway_error,
            HTTPException: _on_http_error,
            Exception: _on_unexpected,
        },
    )
