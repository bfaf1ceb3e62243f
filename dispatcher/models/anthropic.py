"""Claude through the Anthropic Messages API, using the `anthropic` SDK (imported on first use)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dispatcher.errors import (
    ConfigError,
    DispatcherError,
    MissingKeyError,
    ModelConnectionError,
    ProviderError,
)
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models._anthropic_wire import (
    AnthropicStreamAssembler,
    request_params,
    response_from_message,
)
from dispatcher.models._guard import check_real_request_allowed
from dispatcher.models._malformed import PARSE_ERRORS, convert, malformed
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
    from anthropic import AsyncAnthropic

__all__ = ["AnthropicModel"]

# The error `type` of an `event: error` in the middle of a stream, as the HTTP status it stands for.
_STREAM_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
_KEY_ENV_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


class AnthropicModel:
    """A Claude model. Construction only stores settings; the SDK client is built on first use.

    Args:
        api_key: the key; if None, the SDK reads `ANTHROPIC_API_KEY` (or its other credential
            sources). With a `base_url` and no key anywhere, a placeholder is sent.
        base_url: a gateway or proxy speaking the Messages API.
        http_client: an `httpx2.AsyncClient` to use (tests pass one with a MockTransport); its
            redirect setting is its own. The client built otherwise follows no redirect: a
            3xx answer is a ProviderError (a redirect would take the body and key elsewhere).
        timeout_s: HTTP timeout of one attempt.
        stream: stream every request (a request can also ask with `ModelRequest.stream`).
        stream_idle_timeout_s: a stream silent for this long raises StreamStalledError.
        max_output_tokens: `max_tokens` when the request does not set one (the API requires it).
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
        max_output_tokens: int = 4096,
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
        self._client: AsyncAnthropic | None = None

    def __repr__(self) -> str:
        where = f", base_url={self._base_url!r}" if self._base_url else ""
        return f"AnthropicModel({self.model_id!r}{where})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one Messages API request; errors come back as `dispatcher.errors` types."""
        check_real_request_allowed(self.model_id)
        client = self._get_client()
        params = request_params(
            request, model_id=self.model_id, default_max_tokens=self._max_output_tokens
        )
        started = time.perf_counter()
        try:
            if self._stream or request.stream or listening():
                return await self._request_streamed(
                    client, params, started, agent=request.metadata.get("agent")
                )
            message = await client.messages.create(**params)
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
            lambda: response_from_message(message, latency_ms=latency_ms),
            model=self.model_id,
        )

    async def _request_streamed(
        self,
        client: AsyncAnthropic,
        params: dict[str, Any],
        started: float,
        *,
        agent: str | None,
    ) -> ModelResponse:
        stream = await client.messages.create(**params, stream=True)
        request_id = stream.response.headers.get("request-id")
        assembler = AnthropicStreamAssembler()
        ttft_ms: float | None = None
        writer = text_writer(self.model_id, agent=agent)
        try:
            while (
                event := await next_chunk(
                    stream, idle_timeout_s=self._idle_timeout_s, model=self.model_id
                )
            ) is not None:
                if self._fed(assembler, event) and ttft_ms is None:
                    ttft_ms = _ms_since(started)
                if (
                    writer is not None
                    and event.type == "content_block_delta"
                    and event.delta.type == "text_delta"
                ):
                    writer.write(event.delta.text)
        finally:
            if writer is not None:
                writer.end()
            await stream.close()
        if not assembler.complete:
            raise ModelConnectionError(
                "the stream ended before message_stop (connection dropped?)", model=self.model_id
            )
        latency_ms = _ms_since(started)
        return convert(
            lambda: assembler.response(
                latency_ms=latency_ms, ttft_ms=ttft_ms, request_id=request_id
            ),
            model=self.model_id,
        )

    def _get_client(self) -> AsyncAnthropic:
        if self._client is not None:
            return self._client
        try:
            from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient
        except ImportError as exc:
            raise ConfigError(
                "the Anthropic adapter needs the `anthropic` package",
                fix="pip install 'anthropic>=2.0'",
            ) from exc
        api_key = self._api_key
        if api_key is None and self._base_url and not any(map(os.environ.get, _KEY_ENV_VARS)):
            # A local gateway may need no key; the SDK refuses to send a request without one.
            api_key = "not-needed"
        register_secret(api_key)
        kwargs: dict[str, Any] = {}
        if api_key is not None:
            kwargs["api_key"] = api_key
        if self._base_url:
            kwargs["base_url"] = self._base_url
        # The SDK's own client follows redirects, sending the request (and, to the same
        # origin, the key) wherever a server says: its defaults (pool limits), without that.
        kwargs["http_client"] = self._http_client or DefaultAsyncHttpxClient(follow_redirects=False)
        if self._default_headers:
            kwargs["default_headers"] = self._default_headers
        try:
            # max_retries=0: dispatcher.models.RetryingModel is the only layer that retries.
            self._client = AsyncAnthropic(max_retries=0, timeout=self._timeout_s, **kwargs)
        except Exception as exc:  # the SDK may read a credentials profile from disk here
            mapped = self._map_error(exc)
            if mapped is None:
                raise
            # from None: the SDK error's text may echo a key; `mapped` is redacted.
            raise mapped from None
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
        import anthropic
        import httpx2

        model = self.model_id
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            if 300 <= exc.response.status_code < 400:
                location = exc.response.headers.get("location")
                return redirect_error(exc.response.status_code, location, model=model)
            if status < 400:  # an `event: error` inside a 200 stream
                status = _STREAM_ERROR_STATUS.get(exc.type or "", 500)
            detail = f"{exc.type}: {exc.api_message}" if exc.api_message else exc.message
            return provider_error(
                detail,
                status=status,
                model=model,
                request_id=exc.request_id,
                headers=exc.response.headers,
                context_overflow=status in (400, 413)
                and mentions_context_overflow([exc.api_message, exc.message]),
            )
        if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
            cause = f" ({type(exc.__cause__).__name__})" if exc.__cause__ else ""
            return ModelConnectionError(redact(exc.message) + cause, model=model)
        if isinstance(exc, httpx2.TransportError):  # a stream read failing mid-way is not wrapped
            return ModelConnectionError(
                redact(f"{type(exc).__name__}: {exc}") or "connection lost", model=model
            )
        if isinstance(exc, anthropic.APIResponseValidationError):
            return ProviderError(
                redact(exc.message), model=model, status_code=exc.status_code, request_id=None
            )
        if isinstance(exc, anthropic.CredentialsError) or (
            isinstance(exc, TypeError) and "authentication method" in str(exc)
        ):
            # A missing key, not a bad request: the gateway answers it as its own fault.
            return MissingKeyError(
                f"no Anthropic credentials for model {model!r}: {redact(str(exc))}",
                fix="export ANTHROPIC_API_KEY, or give the model `api_key: os.environ/NAME` in "
                "the registry file and export NAME",
                model=model,
                variable="ANTHROPIC_API_KEY",
            )
        return None


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
