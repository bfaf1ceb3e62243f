"""Record a live run's model turns into a cassette, and replay cassettes as scripted models."""

from __future__ import annotations

import dataclasses
import json

from dispatcher.cassette import Cassette, CassetteTurn
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models.base import Model
from dispatcher.redaction import REDACTED, has_registered_secret, redact
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import ModelFactory
from dispatcher.testing._scripted import ScriptedModel

__all__ = ["RecordingModel", "replay_factory"]

_WITHHELD = json.dumps({"withheld": REDACTED})


class RecordingModel:
    """Wraps a live model and appends each response to a cassette, tagged with its agent."""

    def __init__(self, inner: Model, name: str, cassette: Cassette) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self._turns = cassette.models.setdefault(name, [])

    async def request(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.request(request)
        # A cassette is a file meant to be committed: no key may be written into it.
        self._turns.append(
            CassetteTurn.from_response(_redacted(response), request.metadata.get("agent"))
        )
        return response


def _redacted(response: ModelResponse) -> ModelResponse:
    calls = tuple(
        dataclasses.replace(
            call,
            arguments=_WITHHELD
            if has_registered_secret(call.arguments)
            else redact(call.arguments),
        )
        for call in response.tool_calls
    )
    return dataclasses.replace(response, text=redact(response.text), tool_calls=calls)


def replay_factory(cassette: Cassette) -> tuple[dict[str, ScriptedModel], ModelFactory]:
    """Scripted models for every model in the cassette, plus a factory for the registry."""
    scripted: dict[str, ScriptedModel] = {
        name: ScriptedModel(turns, model_id=f"scripted:{name}")
        for name, turns in cassette.models.items()
    }

    def factory(profile: ModelProfile) -> Model:
        model = scripted.get(profile.name)
        if model is None:
            model = ScriptedModel([], model_id=f"scripted:{profile.name}")
            scripted[profile.name] = model
        return model

    return scripted, factory


def _redacted_arguments(arguments: str) -> str:
    return _WITHHELD if has_registered_secret(arguments) else redact(arguments)
