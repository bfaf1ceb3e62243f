"""The `escalate` tool every worker gets, and the brief the overwatch reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from dispatcher._checked_model import CheckedModel
from dispatcher.detectors.base import Step
from dispatcher.messages import ToolSpec

__all__ = [
    "ESCALATE_TOOL_NAME",
    "EscalationRequest",
    "OverwatchDecision",
    "build_brief",
    "decision_tool",
    "escalate_tool_spec",
    "parse_escalation_request",
]

ESCALATE_TOOL_NAME = "escalate"
DECISION_TOOL_NAME = "overwatch_decision"
_OBSERVATION_CHARS = 400


class EscalationRequest(CheckedModel):
    """What a worker (or a trigger on its behalf) tells the overwatch."""

    reason: str = Field(description="Why you are stuck, in one sentence.")
    question: str = Field(description="The precise question you need answered to continue.")
    evidence: str = Field("", description="Errors or outputs that show the problem.")
    tried: str = Field("", description="What you already tried.")


class OverwatchDecision(BaseModel):
    """The overwatch's structured reply."""

    mode: Literal["advise", "take_over", "hand_back"]
    guidance: str = Field(description="Advice for the worker, or the plan if taking over.")


def escalate_tool_spec() -> ToolSpec:
    schema = EscalationRequest.model_json_schema()
    schema.pop("title", None)
    for prop in schema["properties"].values():
        prop.pop("title", None)
    schema["additionalProperties"] = False
    return ToolSpec(
        ESCALATE_TOOL_NAME,
        "Ask a stronger supervisor model for help when you are stuck: repeated errors, no "
        "progress, or a question you cannot answer. Say what you tried and what you need.",
        schema,
    )


def decision_tool(modes: Sequence[str]) -> ToolSpec:
    return ToolSpec(
        DECISION_TOOL_NAME,
        "Answer the worker's escalation: `advise` sends guidance and the worker continues; "
        "`take_over` means you finish the task yourself with the worker's tools; `hand_back` "
        "means you take one step with the tools, then the worker continues.",
        {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": list(modes)},
                "guidance": {"type": "string", "description": "Advice, or your plan."},
            },
            "required": ["mode", "guidance"],
            "additionalProperties": False,
        },
    )


def parse_escalation_request(arguments: Mapping[str, Any]) -> EscalationRequest | str:
    """A request, or an error message for the worker."""
    try:
        return EscalationRequest.model_validate(arguments)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "<root>"
        return f"Error: invalid escalate arguments: {field}: {first['msg']}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f" [...{len(text) - limit} more]"


def build_brief(
    *,
    task: str,
    agent: str,
    trigger: str,
    request: EscalationRequest,
    steps: Sequence[Step],
    detector_evidence: Mapping[str, Any] | None,
) -> str:
    """A compact brief: the task, the last K steps, the question and the evidence."""
    lines = [
        f"A worker agent ({agent}) escalated to you (trigger: {trigger}).",
        f"Task: {task}",
        f"Reason: {request.reason}",
        f"Question: {request.question}",
    ]
    if request.tried:
        lines.append(f"Already tried: {request.tried}")
    if request.evidence:
        lines.append(f"Evidence: {_clip(request.evidence, 1500)}")
    if detector_evidence:
        lines.append(f"Detector evidence: {dict(detector_evidence)}")
    if steps:
        lines.append(f"Last {len(steps)} steps:")
        for step in steps:
            status = "ERROR" if step.error else "ok"
            observation = _clip(step.observation, _OBSERVATION_CHARS)
            lines.append(f"- #{step.index} {_clip(step.action, 600)} -> [{status}] {observation}")
    return "\n".join(lines)
