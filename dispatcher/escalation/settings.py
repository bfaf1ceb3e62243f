"""How an agent escalates: mode, quota, depth, and how detectors trigger it."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from dispatcher._checked_model import CheckedModel

__all__ = ["EscalationSettings"]


class EscalationSettings(CheckedModel):
    """Per-agent escalation policy (the `escalation:` block of an agent or the registry)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    mode: Literal["auto", "advise", "take_over", "hand_back"] = Field(
        "auto", description="auto lets the overwatch pick among `modes`"
    )
    modes: tuple[Literal["advise", "take_over", "hand_back"], ...] = (
        "advise",
        "take_over",
        "hand_back",
    )
    quota: int = Field(3, ge=0, description="escalations allowed per task")
    max_depth: int = Field(1, ge=1, description="nested escalations allowed (1: no ping-pong)")
    nudges: int = Field(
        1, ge=0, description="detector firings answered with a nudge before one escalates"
    )
    brief_steps: int = Field(6, ge=1, description="last K steps the overwatch sees")
    on_budget: bool = Field(True, description="escalate when the agent's own turn budget ends")
    max_output_tokens: int = Field(
        1024, gt=0, description="overwatch reply size used to estimate cost"
    )
