"""Test doubles and helpers that ship with the package (no network, no keys)."""

from dispatcher.models._guard import block_real_models
from dispatcher.testing._capture import capture_events
from dispatcher.testing._scripted import (
    FunctionModel,
    ScriptedModel,
    estimate_usage,
    reply,
    tool_calls,
)

__all__ = [
    "FunctionModel",
    "ScriptedModel",
    "block_real_models",
    "capture_events",
    "estimate_usage",
    "reply",
    "tool_calls",
]
