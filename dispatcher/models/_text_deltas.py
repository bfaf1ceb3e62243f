"""Text as a model writes it, for whoever listens (`Dispatcher.stream(..., model_text=True)`).

The seam returns whole turns; a listener installed in the run's context makes the adapters
stream their requests and hand each text delta over as it arrives. Nothing listens by
default, and then adapters behave exactly as before (no forced streaming, no cost).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dispatcher.messages import ModelRequest, ModelResponse
    from dispatcher.models.base import Model

__all__ = [
    "TextWriter",
    "current_listener",
    "listening",
    "request_with_text",
    "text_listener",
    "text_writer",
    "writing_agent",
]


class TextWriter(Protocol):
    """Receives one model call's text deltas, then `end()` (also when the call fails)."""

    def write(self, text: str) -> None: ...

    def end(self) -> None: ...


# Given the model id, a writer for one call's text.
WriterFactory = Callable[[str], TextWriter]

_LISTENER: contextvars.ContextVar[WriterFactory | None] = contextvars.ContextVar(
    "dispatcher_text_listener", default=None
)
# The agent a writer is being made for, read by factories that label text (see text_writer).
_AGENT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dispatcher_text_agent", default=None
)


def current_listener() -> WriterFactory | None:
    """The factory model calls in this context hand their text to (to wrap it)."""
    return _LISTENER.get()


def listening() -> bool:
    """True when a model call in this context should stream its text to a listener."""
    return _LISTENER.get() is not None


def text_writer(model_id: str, *, agent: str | None = None) -> TextWriter | None:
    """A writer for one call's text deltas, or None when nothing listens.

    `agent` (the request's `metadata["agent"]`) says whose text it is: the factory keeps the
    one-argument shape wrappers rely on and reads it with `writing_agent()`.
    """
    factory = _LISTENER.get()
    if factory is None:
        return None
    token = _AGENT.set(agent)
    try:
        return factory(model_id)
    finally:
        _AGENT.reset(token)


def writing_agent() -> str | None:
    """Inside a factory called by `text_writer`: the agent the call is made for, if known."""
    return _AGENT.get()


@contextmanager
def text_listener(factory: WriterFactory) -> Iterator[None]:
    """Model calls made in this block (and in tasks it starts) stream their text to `factory`."""
    token = _LISTENER.set(factory)
    try:
        yield
    finally:
        _LISTENER.reset(token)


async def request_with_text(model: Model, request: ModelRequest) -> ModelResponse:
    """`model.request(request)`; a listener also gets the text of a model that does not stream.

    The OpenAI and Anthropic adapters hand their text over as it arrives; any other model (a
    local one, a script) gives it whole when its turn ends, so a watcher sees every call.
    """
    factory = _LISTENER.get()
    if factory is None:
        return await model.request(request)
    streamed: list[bool] = []

    def noting(model_id: str) -> TextWriter:
        streamed.append(True)
        return factory(model_id)

    token = _LISTENER.set(noting)
    try:
        response = await model.request(request)
    finally:
        _LISTENER.reset(token)
    if not streamed and response.text:
        writer = text_writer(response.model, agent=request.metadata.get("agent"))
        if writer is not None:
            writer.write(response.text)
            writer.end()
    return response
