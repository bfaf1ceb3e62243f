"""Turn an HTTP error answer into the right `dispatcher.errors` type, for every adapter.

    status 408/409/429/5xx/529  -> RetryableProviderError (with retry_after_s from the headers)
    context window exceeded     -> ContextOverflowError (never worth retrying the same model)
    status 3xx (a redirect)     -> ProviderError naming where it pointed (never followed)
    any other status            -> ProviderError

Messages are redacted here, so no adapter can leak a key through an error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime

from dispatcher.errors import (
    ContextOverflowError,
    ProviderError,
    RetryableProviderError,
)
from dispatcher.redaction import redact

__all__ = [
    "RETRYABLE_STATUSES",
    "is_retryable_status",
    "mentions_context_overflow",
    "provider_error",
    "redirect_error",
    "retry_after_seconds",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})

# Phrases providers and OpenAI-compatible servers use when a prompt does not fit.
_CONTEXT_PHRASES = (
    "prompt is too long",  # Anthropic
    "exceed context limit",  # Anthropic: input + max_tokens
    "context_length_exceeded",  # OpenAI error code
    "maximum context length",  # OpenAI, vLLM
    "context window",
    "exceeds the available context size",  # llama.cpp
    "exceed_context_size",  # llama.cpp error type
    "context length",
)


def is_retryable_status(status: int) -> bool:
    """True for statuses where the same request may succeed later (529 is Anthropic's overload)."""
    return status in RETRYABLE_STATUSES or status >= 500


def mentions_context_overflow(texts: Iterable[str | None]) -> bool:
    """True if any of the error texts (message, code, type) says the prompt did not fit."""
    for text in texts:
        if text and any(phrase in text.lower() for phrase in _CONTEXT_PHRASES):
            return True
    return False


def _seconds(value: float) -> float:
    """A wait from the server's header; `nan` / `inf` (no real wait) raise ValueError."""
    if not math.isfinite(value):
        raise ValueError(f"not a wait: {value}")
    return max(value, 0.0)


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: `retry-after-ms`, else `retry-after` (secs or date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return _seconds(float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return _seconds(float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def provider_error(
    message: str,
    *,
    status: int,
    model: str,
    request_id: str | None,
    headers: Mapping[str, str],
    context_overflow: bool,
) -> ProviderError:
    """The typed error for one error status; the message is redacted."""
    text = redact(message)
    if context_overflow:
        return ContextOverflowError(text, model=model, status_code=status, request_id=request_id)
    if is_retryable_status(status):
        return RetryableProviderError(
            text,
            model=model,
            status_code=status,
            request_id=request_id,
            retry_after_s=retry_after_seconds(headers),
        )
    return ProviderError(text, model=model, status_code=status, request_id=request_id)


def redirect_error(status: int, location: str | None, *, model: str) -> ProviderError:
    """The error for a 3xx answer, which the adapters do not follow.

    Followed, a redirect would send the request body (the conversation) and, to the same
    origin, the API key wherever the upstream says: the adapters only talk to the URL the
    user configured. `location` is untrusted: shown truncated, with escapes made visible.
    """
    where = f" to {location[:300]!r}" if location else ""
    return ProviderError(
        redact(
            f"the server answered with a redirect{where}, which is not followed: set the "
            "model's api_base to the URL that answers"
        ),
        model=model,
        status_code=status,
    )
