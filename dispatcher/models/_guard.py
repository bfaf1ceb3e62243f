"""A process-wide switch that makes real provider calls fail loudly (used by test suites)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dispatcher.errors import UnexpectedModelCall

__all__ = ["block_real_models", "check_real_request_allowed"]

_allowed = True


def check_real_request_allowed(model_id: str) -> None:
    """Called by every real adapter before it sends anything."""
    if not _allowed:
        raise UnexpectedModelCall(
            f"a real model call to {model_id!r} was attempted while real calls are blocked; "
            "use dispatcher.testing.ScriptedModel or FunctionModel, or allow real calls",
            model=model_id,
        )


@contextmanager
def block_real_models(block: bool = True) -> Iterator[None]:
    """Within this block, any real adapter request raises UnexpectedModelCall."""
    global _allowed
    previous = _allowed
    _allowed = not block
    try:
        yield
    finally:
        _allowed = previous
