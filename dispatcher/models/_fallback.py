"""Try deployments in order; rest a failing one for a cooldown; move on when a prompt won't fit.

Put a RetryingModel inside each candidate: a deployment is only given up on after its own
retries ran out. Moves to the next candidate on:
    RetryableProviderError, ModelConnectionError, StreamStalledError, DeadlineExceededError
    and 401/403/404 (a bad key or unknown model belongs to this deployment only)
                                    -> the failed deployment cools down for `cooldown_s`
    ContextOverflowError            -> no cooldown: the deployment is fine, the prompt too big
Any other ProviderError (e.g. 400) is raised: the same request would fail everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from dispatcher.errors import (
    ConfigError,
    ContextOverflowError,
    DeadlineExceededError,
    ModelConnectionError,
    ModelError,
    ProviderError,
    RetryableProviderError,
    StreamStalledError,
)
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models._trace_emit import emit_current
from dispatcher.models.base import Model
from dispatcher.trace.events import ModelFallback

__all__ = ["FallbackModel"]

_DEPLOYMENT_ERRORS = (
    RetryableProviderError,
    ModelConnectionError,
    StreamStalledError,
    DeadlineExceededError,
)
_DEPLOYMENT_STATUSES = frozenset({401, 403, 404})


class FallbackModel:
    """A Model over named candidates (registry name, model), tried in order.

    Args:
        cooldown_s: how long a deployment that failed is skipped.
        clock: time.monotonic-compatible clock (tests inject a fake one).
        context_fallback: on ContextOverflowError try the next candidate (give the larger
            context windows later in the list); if False the error is raised.
    """

    def __init__(
        self,
        candidates: Sequence[tuple[str, Model]],
        *,
        cooldown_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        context_fallback: bool = True,
    ) -> None:
        if not candidates:
            raise ConfigError(
                "FallbackModel needs at least one candidate",
                fix="pass [(name, model), ...] in the order they should be tried",
            )
        names = [name for name, _ in candidates]
        if len(set(names)) != len(names):
            raise ConfigError(
                f"FallbackModel candidate names must be unique, got {names}",
                fix="name each deployment once (cooldowns are tracked per name)",
            )
        self.model_id = candidates[0][1].model_id
        self._candidates = list(candidates)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._context_fallback = context_fallback
        self._cooling_until: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"FallbackModel({[name for name, _ in self._candidates]!r})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Answer from the first candidate that can; raise the last error if none can."""
        order = self._order()
        last_error: ModelError | None = None
        for position, (name, model) in enumerate(order):
            try:
                response = await model.request(request)
            except ContextOverflowError as exc:
                if not self._context_fallback:
                    raise
                last_error, reason, cooldown = exc, "context_overflow", None
            except _DEPLOYMENT_ERRORS as exc:
                last_error, reason, cooldown = exc, "unavailable", self._cooldown_s
            except ProviderError as exc:
                if exc.status_code not in _DEPLOYMENT_STATUSES:
                    raise
                last_error, reason, cooldown = exc, "provider_error", self._cooldown_s
            else:
                self._cooling_until.pop(name, None)
                return response
            if cooldown is not None:
                self._cooling_until[name] = self._clock() + cooldown
            following = order[position + 1][0] if position + 1 < len(order) else None
            emit_current(
                ModelFallback,
                from_model=name,
                to_model=following,
                reason=f"{reason}: {type(last_error).__name__}: {last_error}",
                cooldown_s=cooldown,
            )
        assert last_error is not None  # order is never empty
        raise last_error

    def _order(self) -> list[tuple[str, Model]]:
        """Candidates out of cooldown, in order; if all are cooling, the soonest ready first."""
        now = self._clock()
        ready = [c for c in self._candidates if self._cooling_until.get(c[0], now) <= now]
        if not ready:
            # Better a likely failure than a certain one: try them as their cooldowns end.
            return sorted(self._candidates, key=lambda c: self._cooling_until[c[0]])
        first = ready[0][0]
        for name, _ in self._candidates:
            until = self._cooling_until.get(name)
            if until is not None and until > now:
                emit_current(
                    ModelFallback,
                    from_model=name,
                    to_model=first,
                    reason="cooldown: skipped after a recent failure",
                    cooldown_s=until - now,
                )
        return ready
