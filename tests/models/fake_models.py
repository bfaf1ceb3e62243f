"""Tiny Model doubles for the retry and fallback tests."""

from __future__ import annotations

from collections.abc import Sequence

from dispatcher.errors import ModelError
from dispatcher.messages import ModelRequest, ModelResponse


class ScriptedModel:
    """Answers each call with the next outcome: a ModelResponse, or raises a ModelError."""

    def __init__(self, model_id: str, outcomes: Sequence[ModelResponse | ModelError]) -> None:
        self.model_id = model_id
        self.calls = 0
        self._outcomes = list(outcomes)

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        if not self._outcomes:
            raise AssertionError(f"{self.model_id}: unexpected call #{self.calls}")
        outcome = self._outcomes.pop(0)
        if isinstance(outcome, ModelError):
            raise outcome
        return outcome


def answer(text: str = "ok", model: str = "m") -> ModelResponse:
    return ModelResponse(text=text, model=model)
