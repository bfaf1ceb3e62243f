"""Every failure a client can see, as OpenAI's error body with the status OpenAI would send.

GatewayError carries status, type, code and a message that is redacted and never holds a
traceback. `gateway_error` maps dispatcher errors onto it:

    MissingKeyError                   502 upstream_auth: the gateway has no key for its upstream
    UserError / ConfigError           400 invalid_request_error
    ContextOverflowError              400 context_length_exceeded
    BudgetExceeded (usd)              402 insufficient_quota, code budget_exceeded
    BudgetExceeded (other budgets)    429 rate_limit_error, code budget_exceeded
    ProviderError 429                 429 rate_limit_error (Retry-After kept)
    ProviderError 4xx, passthrough    the same status: the client's request was refused
    ProviderError 401/403             502: the gateway's own upstream credentials were refused
    ProviderError 5xx / other 4xx     502 upstream_error
    ModelConnectionError              502 upstream_error
    StreamStalledError, deadlines     504 upstream_timeout
    RunError                          500 run_failed (the run stopped without an answer)
    anything else                     500 internal_error, no detail (see the run's trace)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dispatcher.errors import (
    BudgetExceeded,
    ContextOverflowError,
    DeadlineExceededError,
    MissingKeyError,
    ModelConnectionError,
    ProviderError,
    RunError,
    StreamStalledError,
    UserError,
)
from dispatcher.redaction import redact

__all__ = ["GatewayError", "gateway_error"]


@dataclass
class GatewayError(Exception):
    """An error answer: HTTP status plus OpenAI's `{"error": {...}}` fields."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": redact(self.message),
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def json_bytes(self) -> bytes:
        return json.dumps(self.body()).encode()


def gateway_error(
    exc: BaseException, *, run_id: str | None = None, passthrough: bool = False
) -> GatewayError:
    """The client-facing error for `exc` (never its traceback, never a secret)."""
    if isinstance(exc, GatewayError):
        return exc
    see = f" (trace of run {run_id})" if run_id else ""
    if isinstance(exc, BudgetExceeded):
        fix = (
            f"raise dispatcher.budgets.{exc.budget} in the gateway's config, or send a smaller task"
        )
        message = f"{exc}: the run stopped{see}; {fix}"
        if exc.budget == "usd":
            return GatewayError(402, message, "insufficient_quota", "budget_exceeded")
        return GatewayError(429, message, "rate_limit_error", "budget_exceeded")
    if isinstance(exc, ContextOverflowError):
        return GatewayError(
            400,
            f"the request does not fit the model's context window: {exc}",
            code="context_length_exceeded",
        )
    if isinstance(exc, MissingKeyError):
        # The operator's setup, not the request: the client can do nothing about it, and the
        # variable's name stays out of the answer (the run's trace has it).
        return GatewayError(
            502,
            f"the gateway has no key for the upstream model {exc.model!r}: its operator must "
            f"set it{see}",
            "upstream_error",
            "upstream_auth",
        )
    if isinstance(exc, UserError):
        return GatewayError(400, str(exc))
    if isinstance(exc, ProviderError):
        return _provider_error(exc, see, passthrough)
    if isinstance(exc, StreamStalledError | DeadlineExceededError):
        return GatewayError(504, f"the upstream model timed out: {exc}{see}", "upstream_timeout")
    if isinstance(exc, ModelConnectionError):
        return GatewayError(
            502, f"the upstream model could not be reached: {exc}{see}", "upstream_error"
        )
    if isinstance(exc, RunError):
        return GatewayError(500, f"the run stopped without an answer: {exc}{see}", "run_failed")
    return GatewayError(500, f"internal error{see}", "internal_error")


def _provider_error(exc: ProviderError, see: str, passthrough: bool) -> GatewayError:
    status = exc.status_code or 502
    headers = {}
    if exc.retry_after_s is not None:
        headers["retry-after"] = str(max(1, round(exc.retry_after_s)))
    if status == 429:
        return GatewayError(
            429,
            f"the upstream model is rate limited: {exc}{see}",
            "rate_limit_error",
            "rate_limit_exceeded",
            headers=headers,
        )
    if status in (401, 403):
        return GatewayError(
            502,
            f"the upstream model refused the gateway's credentials{see}",
            "upstream_error",
            "upstream_auth",
        )
    if passthrough and 400 <= status < 500:
        return GatewayError(status, str(exc), "invalid_request_error", "upstream_rejected")
    if status in (408, 504):
        return GatewayError(504, f"the upstream model timed out: {exc}{see}", "upstream_timeout")
    return GatewayError(502, f"the upstream model failed: {exc}{see}", "upstream_error")
