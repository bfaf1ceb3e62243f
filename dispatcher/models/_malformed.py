"""Provider answers that are not JSON or not the expected shape become MalformedResponseError.

The SDKs parse a 200 body leniently (``construct`` without validation), so a proxy's HTML page
raises a JSONDecodeError and a body of the wrong shape fails later, in our conversion, as an
AttributeError or TypeError. Both are the provider's fault, not ours: a typed error that the
retry layer treats like a 5xx. A response that converts is then checked field by field, so a
tool call whose arguments are not text never reaches the executor.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from dispatcher.errors import MalformedResponseError
from dispatcher.messages import ModelResponse
from dispatcher.redaction import redact

__all__ = ["PARSE_ERRORS", "checked_response", "convert", "malformed", "parsed"]

T = TypeVar("T")

# What a body of the wrong shape raises while the SDK or our conversion reads it.
PARSE_ERRORS: tuple[type[Exception], ...] = (
    json.JSONDecodeError,
    UnicodeDecodeError,
    AttributeError,
    TypeError,
    KeyError,
    IndexError,
    ValueError,
    RecursionError,  # a body nested past the JSON parser's recursion limit
)


def malformed(exc: Exception | str, *, model: str) -> MalformedResponseError:
    reason = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return MalformedResponseError(
        redact(f"the provider's answer is malformed ({reason})"[:500]),
        model=model,
        status_code=200,
    )


def checked_response(response: ModelResponse, *, model: str) -> ModelResponse:
    """`response` if every field has its type, else MalformedResponseError."""
    if not isinstance(response.text, str):
        raise malformed(f"text is {type(response.text).__name__}, not text", model=model)
    for call in response.tool_calls:
        for name in ("id", "name", "arguments"):
            value = getattr(call, name)
            if not isinstance(value, str):
                raise malformed(
                    f"tool call {name} is {type(value).__name__}, not text", model=model
                )
        if not call.name:
            raise malformed("a tool call has no name", model=model)
    usage = response.usage
    counts = (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts):
        raise malformed("token counts are not whole numbers >= 0", model=model)
    return response


def convert(work: Callable[[], ModelResponse], *, model: str) -> ModelResponse:
    """Run a conversion of provider data; its shape errors become MalformedResponseError."""
    try:
        response = work()
    except PARSE_ERRORS as exc:
        raise malformed(exc, model=model) from None
    return checked_response(response, model=model)


async def parsed(call: Callable[[], Awaitable[T]], *, model: str) -> T:
    """Await an SDK call whose body parse may fail on a non-JSON answer."""
    try:
        return await call()
    except json.JSONDecodeError as exc:
        raise malformed(exc, model=model) from None
