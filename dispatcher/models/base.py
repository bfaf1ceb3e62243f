"""The model seam: one required async method, request in, normalized response out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from dispatcher.messages import ModelRequest, ModelResponse

__all__ = ["Model"]


@runtime_checkable
class Model(Protocol):
    """Anything that answers a `ModelRequest`.

    `model_id` is the provider's model name (e.g. ``claude-sonnet-4-5``), used in traces.
    Adapters add no other public methods.
    """

    model_id: str

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one request and return the normalized response."""
        ...
