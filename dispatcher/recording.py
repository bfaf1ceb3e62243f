"""Record a run's model turns into a cassette, and replay cassettes as scripted models."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from dispatcher.cassette import Cassette, CassetteTurn, RecordedRequest
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models.base import Model
from dispatcher.redaction import REDACTED, has_registered_secret, redact
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import ModelFactory
from dispatcher.testing._scripted import ScriptedModel

__all__ = ["RecordingModel", "check_replay_complete", "replay_factory"]

_WITHHELD = json.dumps({"withheld": REDACTED})


class RecordingModel:
    """Wraps a model and appends each response to a cassette, with its agent and request.

    Args:
        provider_model: the profile's provider model, recorded so a replay can check it.
    """

    def __init__(
        self, inner: Model, name: str, cassette: Cassette, *, provider_model: str | None = None
    ) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.provider_model = provider_model
        self._turns = cassette.models.setdefault(name, [])

    async def request(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.request(request)
        recorded = RecordedRequest.of(request, self.provider_model)
        # A cassette is a file meant to be committed: no key may be written into it.
        self._turns.append(
            CassetteTurn.from_response(_redacted(response), request.metadata.get("agent"), recorded)
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


def replay_factory(
    cassette: Cassette, *, strict: bool = False
) -> tuple[dict[str, ScriptedModel], ModelFactory]:
    """Scripted models for every model in the cassette, plus a factory for the registry.

    `strict` (what `dispatcher run` uses) requires every turn's recorded request to match the
    request it answers, and every scripted tool call to name an offered tool.
    """
    scripted: dict[str, ScriptedModel] = {
        name: ScriptedModel(turns, model_id=f"scripted:{name}", name=name, strict=strict)
        for name, turns in cassette.models.items()
    }

    def factory(profile: ModelProfile) -> Model:
        model = scripted.get(profile.name)
        if model is None:
            model = ScriptedModel(
                [], model_id=f"scripted:{profile.name}", name=profile.name, strict=strict
            )
            scripted[profile.name] = model
        model.provider_model = profile.provider_model
        return model

    return scripted, factory


def check_replay_complete(scripted: Mapping[str, ScriptedModel]) -> None:
    """Raise `UnexpectedModelCall` if any cassette turn was never requested."""
    for model in scripted.values():
        model.check_complete()
