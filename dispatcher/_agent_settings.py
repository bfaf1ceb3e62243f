"""An agent's effective settings for one run: the registry's defaults with its own on top."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from dispatcher._settings_memo import shared_settings
from dispatcher.agent import Agent
from dispatcher.escalation.request import escalate_tool_spec
from dispatcher.escalation.settings import EscalationSettings
from dispatcher.messages import ToolSpec
from dispatcher.run_context import RunContext

if TYPE_CHECKING:
    from dispatcher.detectors import DetectorSettings

__all__ = ["detector_settings", "escalate_spec", "escalation_settings"]


def detector_settings(agent: Agent, run: RunContext) -> DetectorSettings:
    """The registry's detector defaults with the agent's own settings on top."""
    from dispatcher.detectors import DetectorSettings, merge

    def build() -> DetectorSettings:
        # Agents that name no profile get the `default` one: safe for agents of any kind.
        settings = DetectorSettings.from_mapping(run.detector_defaults, default_profile="default")
        if agent.detectors:
            settings = merge(settings, DetectorSettings.from_mapping(agent.detectors))
        return settings

    return shared_settings("detectors", (run.detector_defaults, agent.detectors), build)


def escalation_settings(agent: Agent, run: RunContext) -> EscalationSettings:
    own = agent.escalation_settings
    if own is None:
        return run.escalation_defaults
    # Fields the agent set explicitly win over the registry's defaults.
    return run.escalation_defaults.model_copy(update=own.model_dump(exclude_unset=True))


@functools.cache
def escalate_spec() -> ToolSpec:
    # Built from a pydantic model's JSON Schema: milliseconds, so once per process, not per run.
    return escalate_tool_spec()
