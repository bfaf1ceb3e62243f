"""Without ANTHROPIC_API_KEY, the strong model's turns come from cassette.yaml; SmolLM2 stays live.

Used by `dispatcher run examples/local_worker --live`: the worker (SmolLM2, in-process) always
runs for real. The strong model (dispatcher and overwatch) is Claude when the key is set;
otherwise its recorded turns are replayed in order, per agent, without checking the requests
they answer (the worker's live steps lead there), and its tool calls run for real. It says
which on stderr, and its `model_call` events name ``recorded:<model>`` as the provider model.
Offline runs (no --live) replace every model, this one included, by the strict replay.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from dispatcher import Model, ModelProfile, Registry
from dispatcher.cassette import load_cassette
from dispatcher.testing import ScriptedModel

CASSETTE = Path(__file__).with_name("cassette.yaml")
STRONG = "strong"


def register(registry: Registry) -> None:
    live = registry.model_factory

    def strong_live_or_recorded(profile: ModelProfile) -> Model:
        if profile.name != STRONG:
            return live(profile)
        if profile.api_key():
            print(f"strong model: live ({profile.provider_model})", file=sys.stderr)
            return live(profile)
        turns = load_cassette(CASSETTE).models.get(STRONG, [])
        print(
            f"strong model: recorded turns from {CASSETTE.name} (${profile.api_key_env} is "
            f"not set; export it to call {profile.provider_model} live)",
            file=sys.stderr,
        )
        return ScriptedModel(
            [dataclasses.replace(turn, request=None) for turn in turns],
            model_id=f"recorded:{profile.provider_model}",
            name=STRONG,
        )

    registry.use_models(strong_live_or_recorded)
