"""Every error dispatcher raises, in one tree.

DispatcherError
├── UserError                 something the user wrote is wrong; the message says how to fix it
│   ├── ConfigError           a registry/agent file or argument is invalid
│   └── DataError             a dataset or trace file is malformed (names the line)
├── ModelError                a model call failed
│   ├── ProviderError         the provider answered with an error status (carries request id)
│   │   ├── RetryableProviderError    408/409/429/5xx/529 after retries ran out
│   │   │   └── MalformedResponseError    the answer is not JSON or not the expected shape
│   │   └── ContextOverflowError      the request does not fit the model's context window
│   ├── ModelConnectionError  the provider could not be reached
│   ├── StreamStalledError    a stream went quiet for longer than its idle timeout
│   ├── DeadlineExceededError a retry would wait past the run's deadline
│   └── UnexpectedModelCall   a test double received a call it was not scripted for
└── RunError                  a run stopped before a final answer; carries the partial trace
    ├── BudgetExceeded        a turn, token, USD, wall-time or tool-call budget ran out
    ├── ToolErrorCapExceeded  too many invalid tool calls in one run
    └── EscalationRefused     an escalation was needed but not allowed (quota, depth, budget)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dispatcher.trace.events import EventBase

__all__ = [
    "BudgetExceeded",
    "ConfigError",
    "ContextOverflowError",
    "DataError",
    "DeadlineExceededError",
    "DispatcherError",
    "EscalationRefused",
    "MalformedResponseError",
    "MissingKeyError",
    "ModelConnectionError",
    "ModelError",
    "ProviderError",
    "RetryableProviderError",
    "RunError",
    "StreamStalledError",
    "ToolErrorCapExceeded",
    "UnexpectedModelCall",
    "UserError",
]


class DispatcherError(Exception):
    """Base of every error this package raises."""


class UserError(DispatcherError):
    """A mistake in user input: the message says what was wrong and how to fix it."""


class ConfigError(UserError):
    """An invalid configuration file, agent definition or argument."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        entry: str | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.reason = message  # the message without location and fix, to re-raise elsewhere
        self.file = str(file) if file is not None else None
        self.entry = entry
        self.field = field
        self.fix = fix
        where = []
        if self.file:
            where.append(self.file)
        if entry:
            where.append(f"entry {entry!r}")
        if field:
            where.append(f"field {field!r}")
        text = f"{': '.join(where)}: {message}" if where else message
        if fix:
            text = f"{text}\n  fix: {fix}"
        super().__init__(text)


class MissingKeyError(ConfigError):
    """A model's key is read from an environment variable that is not set.

    A mistake in the setup of whoever runs dispatcher, not in a request: the gateway answers
    it as its own fault (502), not the client's (400).
    """

    def __init__(self, message: str, *, model: str, variable: str, **where: Any) -> None:
        self.model = model
        self.variable = variable
        super().__init__(message, **where)


class DataError(UserError):
    """A malformed dataset, trajectory or trace file."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        fix: str | None = None,
    ):
        self.file = str(file) if file is not None else None
        self.line = line
        self.fix = fix
        where = self.file or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        text = f"{where}: {message}" if where else message
        super().__init__(f"{text}\n  fix: {fix}" if fix else text)


class ModelError(DispatcherError):
    """A model call failed."""

    def __init__(self, message: str, *, model: str | None = None) -> None:
        self.model = model
        super().__init__(message)


class ProviderError(ModelError):
    """The provider answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after_s = retry_after_s
        detail = message
        if status_code is not None:
            detail = f"HTTP {status_code}: {detail}"
        if request_id:
            detail = f"{detail} (request id {request_id})"
        super().__init__(detail, model=model)


class RetryableProviderError(ProviderError):
    """A transient provider error (408/409/429/5xx/529); retries may help."""


class MalformedResponseError(RetryableProviderError):
    """The provider's answer is not JSON or not the expected shape (a proxy's HTML page, a
    truncated body, a field of the wrong type); like a 5xx, a retry may get a good one."""


class ContextOverflowError(ProviderError):
    """The request is larger than the model's context window: retrying the same model is futile."""


class ModelConnectionError(ModelError):
    """The provider could not be reached (DNS, refused, reset, timeout)."""


class StreamStalledError(ModelError):
    """A streamed response produced nothing for longer than the idle timeout."""


class DeadlineExceededError(ModelError):
    """Waiting for a retry would run past the run's deadline."""


class UnexpectedModelCall(ModelError):
    """A test double got a call its script did not expect, or a real call was blocked in tests."""


class RunError(DispatcherError):
    """A run ended without a final answer. `events` holds the trace written so far."""

    def __init__(
        self,
        message: str,
        *,
        events: Sequence[EventBase] = (),
        trace_path: Path | None = None,
    ) -> None:
        self.events: list[EventBase] = list(events)
        self.trace_path = trace_path
        super().__init__(message)


class BudgetExceeded(RunError):
    """A budget (turns, tokens, usd, wall_s, tool_calls) would be exceeded by the next request."""

    def __init__(
        self,
        budget: str,
        *,
        limit: float,
        spent: float,
        events: Sequence[EventBase] = (),
        trace_path: Path | None = None,
    ) -> None:
        self.budget = budget
        self.limit = limit
        self.spent = spent
        super().__init__(
            f"budget {budget!r} exhausted: spent {spent:g} of {limit:g}",
            events=events,
            trace_path=trace_path,
        )


class ToolErrorCapExceeded(RunError):
    """The model made more invalid tool calls in one run than the cap allows."""


class EscalationRefused(RunError):
    """Escalation was required but refused by its quota, depth limit or the budget."""


def describe(exc: BaseException) -> dict[str, Any]:
    """A JSON-safe description of an exception for trace events."""
    return {"type": type(exc).__name__, "message": str(exc)}
