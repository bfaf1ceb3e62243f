"""Builders for scripted end-to-end scenarios (imported by tests, not collected)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher import Agent, Registry
from dispatcher.registry.config import parse_registry_config
from dispatcher.testing import ScriptedModel


def registry(
    agents: Sequence[Agent],
    *,
    small: Sequence[Any],
    strong: Sequence[Any] = (),
    dispatcher: Mapping[str, Any] | None = None,
) -> tuple[Registry, ScriptedModel, ScriptedModel]:
    """A registry with a priced weak `small` and strong `strong` model, both scripted."""
    config = parse_registry_config(
        {
            "model_list": [
                {"model_name": "small", "litellm_params": {"model": "openai/small-model"}},
                {"model_name": "strong", "litellm_params": {"model": "anthropic/strong-model"}},
            ],
            "dispatcher": {
                "tiers": {"weak": "small", "strong": "strong"},
                "prices": {
                    "small": {"input": 0.2, "output": 0.8},
                    "strong": {"input": 3.0, "output": 15.0},
                },
                "dispatcher_model": "small",
                **(dispatcher or {}),
            },
        }
    )
    reg = Registry(config)
    for agent in agents:
        reg.register(agent)
    small_model = ScriptedModel(small, model_id="small-model")
    strong_model = ScriptedModel(strong, model_id="strong-model")
    reg.use_models({"small": small_model, "strong": strong_model})
    return reg, small_model, strong_model
