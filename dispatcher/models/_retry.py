"""The one layer that retries model calls: capped, jittered exponential backoff within a deadline.

Retried: RetryableProviderError (408/409/429/5xx/529) and ModelConnectionError, up to
`max_retries`; StreamStalledError is replayed `stall_replays` times (once by default).
Never retried: ContextOverflowError and every other ProviderError (400/401/403/404...).
Each retried attempt is recorded as a `model_retry` event; the last failure is raised.
"""

from __future__ import annotations

import contextvars
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import anyio

from dispatcher.errors import (
    ConfigError,
    DeadlineExceededError,
    ModelConnectionError,
    ModelError,
    RetryableProviderError,
    StreamStalledError,
    describe,
)
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models._trace_emit import emit_current
from dispatcher.models.base import Model
from dispatcher.trace.events import ModelRetry

__all__ = ["RetryPolicy", "RetryingModel", "retry_deadline"]

Sleep = Callable[[float], Awaitable[None]]

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "dispatcher_retry_deadline", default=None
)


@contextmanager
def retry_deadline(deadline: float | None) -> Iterator[None]:
    """Model calls in this block never wait for a retry past `deadline` (a time.monotonic() value).

    Nested blocks keep the earlier of the two deadlines.
    """
    outer = _DEADLINE.get()
    if outer is not None and (deadline is None or outer < deadline):
        deadline = outer
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long RetryingModel waits between attempts.

    Args:
        max_retries: retries after the first attempt for transient and connection errors.
        initial_delay_s, multiplier, max_delay_s: backoff of retry n is
            ``min(max_delay_s, initial_delay_s * multiplier ** (n - 1))``.
        jitter: fraction of that delay removed at random (0: none, 1: full jitter).
        max_retry_after_s: a server asking to wait longer than this gets no retry; the error
            is raised at once so a fallback deployment can answer instead.
        stall_replays: how often a stalled stream is replayed.
        deadline: a time.monotonic() value no retry wait may pass.
    """

    max_retries: int = 3
    initial_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 30.0
    jitter: float = 0.2
    max_retry_after_s: float = 60.0
    stall_replays: int = 1
    deadline: float | None = None

    def __post_init__(self) -> None:
        checks = {
            "max_retries": self.max_retries >= 0,
            "initial_delay_s": self.initial_delay_s >= 0,
            "multiplier": self.multiplier >= 1,
            "max_delay_s": self.max_delay_s >= 0,
            "jitter": 0 <= self.jitter <= 1,
            "max_retry_after_s": self.max_retry_after_s >= 0,
            "stall_replays": self.stall_replays >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(
                    f"invalid retry policy value {name}={getattr(self, name)!r}",
                    field=name,
                    fix="counts and delays must be >= 0, multiplier >= 1, jitter within 0..1",
                )

    def backoff_s(self, retry_number: int, rng: random.Random) -> float:
        """The jittered wait before retry `retry_number` (1-based)."""
        capped = min(self.max_delay_s, self.initial_delay_s * self.multiplier ** (retry_number - 1))
        return capped * (1.0 - self.jitter * rng.random())


class RetryingModel:
    """Wraps a Model and retries transient failures according to a RetryPolicy.

    Args:
        sleep: how to wait (tests inject a recorder instead of waiting on the clock).
        rng: the jitter source (seed it for reproducible delays).
        clock: time.monotonic-compatible clock used for the deadline check.
    """

    def __init__(
        self,
        inner: Model,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = anyio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model_id = inner.model_id
        self._inner = inner
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock

    def __repr__(self) -> str:
        return f"RetryingModel({self._inner!r}, policy={self._policy!r})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send `request`, retrying transient failures; `response.retries` counts the retries."""
        retries = 0
        transient_retries = 0
        stall_replays = 0
        while True:
            try:
                response = await self._inner.request(request)
            except StreamStalledError as exc:
                if stall_replays >= self._policy.stall_replays:
                    raise
                stall_replays += 1
                delay = 0.0  # the stall already cost the idle timeout; replay at once
                error: ModelError = exc
            except (RetryableProviderError, ModelConnectionError) as exc:
                if transient_retries >= self._policy.max_retries:
                    raise
                transient_retries += 1
                delay = self._delay_for(exc, transient_retries)
                error = exc
            else:
                return dataclasses.replace(response, retries=response.retries + retries)
            retries += 1
            self._check_deadline(error, delay)
            emit_current(
                ModelRetry,
                model=self.model_id,
                attempt=retries,
                error=describe(error),
                status_code=getattr(error, "status_code", None),
                delay_s=delay,
                request_id=getattr(error, "request_id", None),
            )
            if delay > 0:
                await self._sleep(delay)

    def _delay_for(self, error: ModelError, retry_number: int) -> float:
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is None:
            return self._policy.backoff_s(retry_number, self._rng)
        if retry_after > self._policy.max_retry_after_s:
            raise error
        return float(retry_after)

    def _check_deadline(self, error: ModelError, delay: float) -> None:
        deadlines = [d for d in (self._policy.deadline, _DEADLINE.get()) if d is not None]
        if not deadlines:
            return
        remaining = min(deadlines) - self._clock()
        if delay > remaining:
            raise DeadlineExceededError(
                f"not retrying {self.model_id!r} after {type(error).__name__} ({error}): "
                f"the wait of {delay:.2f} s would pass the deadline ({max(remaining, 0.0):.2f} s "
                "left)",
                model=self.model_id,
            ) from error
