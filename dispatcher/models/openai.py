"""OpenAI Chat Completions through the `openai` SDK (imported on first use).

`base_url` points the same adapter at any OpenAI-compatible server: Ollama, vLLM, llama.cpp,
LM Studio, gateways.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dispatcher.errors import (
    ConfigError,
    DispatcherError,
    ModelConnectionError,
    ProviderError,
)
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models._guard import check_real_request_allowed
from dispatcher.models._malformed import PARSE_ERRORS, convert, malformed
from dispatcher.models._openai_wire import (
    OpenAIStreamAssembler,
    request_params,
    response_from_completion,
)
from dispatcher.models._provider_errors import (
    mentions_context_overflow,
    provider_error,
    redirect_error,
)
from dispatcher.models._stream_idle import next_chunk
from dispatcher.models._text_deltas import listening, text_writer
from dispatcher.redaction import redact, register_secret

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

__all__ = ["OpenAIModel"]

_KEY_ENV_VAR = "OPENAI_API_KEY"
# Sent to servers that need no key: the SDK refuses to build a client without one.
_PLACEHOLDER_KEY = "not-needed"


class OpenAIModel:
    """A Chat Completions model. Construction only stores settings; the client is built lazily.

    Args:
        api_key: the key; if None, `OPENAI_API_KEY` for OpenAI itself, a placeholder when
            `base_url` is set (a local server's key is never taken from `OPENAI_API_KEY`, so
            an OpenAI key does not leak to it).
        base_url: an OpenAI-compatible endpoint, e.g. ``http://127.0.0.1:11434/v1`` (Ollama).
        http_client: an `httpx2.AsyncClient` to use (tests pass one with a MockTransport); its
            redirect setting is its own. The client built otherwise follows no redirect: a
            3xx answer is a ProviderError (a redirect would take the body and key elsewhere).
        timeout_s: HTTP timeout of one attempt.
        stream: stream every request (a request can also ask with `ModelRequest.stream`).
        stream_idle_timeout_s: a stream silent for this long raises StreamStalledError.
        max_output_tokens: output limit when the request sets none (None: the server's default).
    """

    def __init__(
        self,
        model_id: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        timeout_s: float = 600.0,
        stream: bool = False,
        stream_idle_timeout_s: float = 60.0,
        max_output_tokens: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.model_id = model_id
        self._api_key = api_key
        self._base_url = base_url
        self._http_client = http_client
        self._timeout_s = timeout_s
        self._stream = stream
        self._idle_timeout_s = stream_idle_timeout_s
        self._max_output_tokens = max_output_tokens
        self._default_headers = dict(default_headers or {})
        self._client: AsyncOpenAI | None = None

    def __repr__(self) -> str:
        where = f", base_url={self._base_url!r}" if self._base_url else ""
        return f"OpenAIModel({self.model_id!r}{where})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one Chat Completions request; errors come back as `dispatcher.errors` types."""
        check_real_request_allowed(self.model_id)
        client = self._get_client()
        params = request_params(
            request,
            model_id=self.model_id,
            max_tokens_field="max_tokens" if self._base_url else "max_completion_tokens",
            default_max_tokens=self._max_output_tokens,
        )
        started = time.perf_counter()
        try:
            if self._stream or request.stream or listening():
                return await self._request_streamed(
                    client, params, started, agent=request.metadata.get("agent")
                )
            completion = await client.chat.completions.create(**params)
        except Exception as exc:
            mapped = self._map_error(exc)
            if mapped is None:
                raise
        else:
            mapped = None
        if mapped is not None:
            # Raised outside the handler: no __cause__ and no hidden __context__ either, since
            # the SDK's error (its text, its request's headers) may hold the key.
            raise mapped
        latency_ms = _ms_since(started)
        return convert(
            lambda: response_from_completion(
                completion, model_id=self.model_id, latency_ms=latency_ms
            ),
            model=self.model_id,
        )

    async def _request_streamed(
        self,
        client: AsyncOpenAI,
        params: dict[str, Any],
        started: float,
        *,
        agent: str | None,
    ) -> ModelResponse:
        stream = await client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        request_id = stream.response.headers.get("x-request-id")
        assembler = OpenAIStreamAssembler()
        ttft_ms: float | None = None
        writer = text_writer(self.model_id, agent=agent)
        try:
            while (
                chunk := await next_chunk(
                    stream, idle_timeout_s=self._idle_timeout_s, model=self.model_id
                )
            ) is not None:
                if self._fed(assembler, chunk) and ttft_ms is None:
                    ttft_ms = _ms_since(started)
                if writer is not None:
                    for choice in chunk.choices:
                        if choice.index == 0 and choice.delta.content:
                            writer.write(choice.delta.content)
        finally:
            if writer is not None:
                writer.end()
            await stream.close()
        if not assembler.complete:
            raise ModelConnectionError(
                "the stream ended without a finish_reason (connection dropped?)",
                model=self.model_id,
            )
        latency_ms = _ms_since(started)
        return convert(
            lambda: assembler.response(
                model_id=self.model_id,
                latency_ms=latency_ms,
                ttft_ms=ttft_ms,
                request_id=request_id,
            ),
            model=self.model_id,
        )

    def _get_client(self) -> AsyncOpenAI:
        if self._client is not None:
            return self._client
        try:
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient
        except ImportError as exc:
            raise ConfigError(
                "the OpenAI adapter needs the `openai` package", fix="pip install 'openai>=3.0'"
            ) from exc
        api_key = self._api_key
        if api_key is None:
            if self._base_url:
                api_key = _PLACEHOLDER_KEY
            else:
                api_key = os.environ.get(_KEY_ENV_VAR)
                if not api_key:
                    raise ConfigError(
                        f"no API key for OpenAI model {self.model_id!r}",
                        fix=f"export {_KEY_ENV_VAR}, or give the model `api_key: "
                        "os.environ/NAME` in the registry file and export NAME, or set api_base "
                        "for an OpenAI-compatible server that needs no key",
                    )
        register_secret(api_key)
        kwargs: dict[str, Any] = {}
        if self._base_url:
            kwargs["base_url"] = self._base_url
        # The SDK's own client follows redirects, sending the request (and, to the same
        # origin, the key) wherever a server says: its defaults (pool limits), without that.
        kwargs["http_client"] = self._http_client or DefaultAsyncHttpxClient(follow_redirects=False)
        if self._default_headers:
            kwargs["default_headers"] = self._default_headers
        # max_retries=0: dispatcher.models.RetryingModel is the only layer that retries.
        self._client = AsyncOpenAI(
            api_key=api_key, max_retries=0, timeout=self._timeout_s, **kwargs
        )
        return self._client

    def _fed(self, assembler: Any, item: Any) -> bool:
        """Feed one stream event; a malformed one is the provider's fault (a typed error)."""
        try:
            return bool(assembler.feed(item))
        except PARSE_ERRORS as exc:
            raise malformed(exc, model=self.model_id) from None

    def _map_error(self, exc: Exception) -> DispatcherError | None:
        """The dispatcher error for an SDK or transport exception; None if it is not ours."""
        if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError | RecursionError):
            # a 200 whose body is not JSON, or nested past the parser's recursion limit
            return malformed(exc, model=self.model_id)
        import httpx2
        import openai

        model = self.model_id
        if isinstance(exc, openai.APIStatusError):
            if 300 <= exc.status_code < 400:
                return redirect_error(
                    exc.status_code, exc.response.headers.get("location"), model=model
                )
            detail = _body_message(exc.body) or exc.message
            return provider_error(
                detail,
                status=exc.status_code,
                model=model,
                request_id=exc.request_id,
                headers=exc.response.headers,
                context_overflow=exc.status_code in (400, 413)
                and mentions_context_overflow([exc.code, exc.type, detail]),
            )
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            cause = f" ({type(exc.__cause__).__name__})" if exc.__cause__ else ""
            return ModelConnectionError(redact(exc.message) + cause, model=model)
        if isinstance(exc, openai.APIResponseValidationError):
            return ProviderError(redact(exc.message), model=model, status_code=exc.status_code)
        if isinstance(exc, openai.APIError):
            # An error object inside a 200 stream: the server failed while generating.
            detail = _body_message(exc.body) or exc.message
            return provider_error(
                detail,
                status=500,
                model=model,
                request_id=None,
                headers={},
                context_overflow=mentions_context_overflow([exc.code, exc.type, detail]),
            )
        if isinstance(exc, httpx2.TransportError):
            return ModelConnectionError(redact(f"{type(exc).__name__}: {exc}"), model=model)
        return None


def _body_message(body: object) -> str | None:
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            code = body.get("code") or body.get("type")
            return f"{code}: {message}" if isinstance(code, str) and code else message
    return None


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
