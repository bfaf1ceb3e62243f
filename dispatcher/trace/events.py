"""The trace contract: every event a run writes, as pydantic models.

One line of a run's JSONL trace is one of these, discriminated by `kind`. The JSON Schema of
the union (`event_json_schema()`) is published by `dispatcher trace schema`; traces are
validated against these models when read. Add fields freely; never rename or remove one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "TASK_CHARS",
    "AgentFinished",
    "AgentStarted",
    "ApprovalEvent",
    "DetectorVerdictEvent",
    "EscalationEvent",
    "Event",
    "EventBase",
    "FeedbackEvent",
    "ModelCall",
    "ModelFallback",
    "ModelRetry",
    "Note",
    "RouteEvent",
    "RunFinished",
    "RunStarted",
    "ToolCallEvent",
    "event_adapter",
    "event_json_schema",
]

RunStatus = Literal["ok", "error", "budget_exceeded", "cancelled"]
Trigger = Literal["self", "detector", "gate", "budget"]
EscalationMode = Literal["advise", "take_over", "hand_back"]


def _iso_time(value: str) -> str:
    """The text as given, once it reads as a time: the renderings compute durations from it."""
    datetime.fromisoformat(value)  # a ValueError is the field's validation error
    return value


class EventBase(BaseModel):
    """Fields every event carries."""

    # defer_build: each class builds its validator on first use, not at import time.
    # allow_inf_nan=False: the writer turns NaN/Infinity into null, so one read back came from
    # elsewhere, and would make `trace stats --json` / `show --json` print text that is not JSON.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, allow_inf_nan=False)

    run_id: str
    ts: Annotated[str, AfterValidator(_iso_time)] = Field(description="ISO 8601 UTC timestamp")
    span_id: str
    parent_id: str | None = None


# A run_started event keeps this many characters of the task (what feedback reads back).
TASK_CHARS = 4000


class RunStarted(EventBase):
    kind: Literal["run_started"] = "run_started"
    task: str = Field(description=f"the task's first {TASK_CHARS} characters")
    config_digest: str = ""
    entry: str = Field("", description="what ran: the dispatcher, an agent name, or an example")


class RunFinished(EventBase):
    kind: Literal["run_finished"] = "run_finished"
    status: RunStatus
    answer: str | None = None
    error: dict[str, Any] | None = None
    cost_usd: float | None = Field(description="total cost of priced calls; null if none priced")
    counterfactual_cost_usd: float | None = Field(
        description="the same token counts priced at the strong model"
    )
    unpriced_models: list[str] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    escalations: int = 0
    duration_ms: float = 0.0


class AgentStarted(EventBase):
    kind: Literal["agent_started"] = "agent_started"
    agent: str
    model: str
    tier: str | None = None
    input: str = ""
    role: Literal["dispatcher", "worker", "overwatch"] = "worker"


class AgentFinished(EventBase):
    kind: Literal["agent_finished"] = "agent_finished"
    agent: str
    status: RunStatus
    output: str | None = None
    turns: int = 0
    cost_usd: float | None = None
    error: dict[str, Any] | None = None


class RouteEvent(EventBase):
    kind: Literal["route"] = "route"
    router: str
    candidates: list[str]
    chosen: str | None
    score: float | None = None
    threshold: float | None = None
    reason: str = ""
    arguments: dict[str, Any] | None = None
    raw_output: str | None = Field(None, description="the dispatcher model's raw choice")
    valid: bool = True
    attempt: int = 1


class ModelCall(EventBase):
    kind: Literal["model_call"] = "model_call"
    agent: str
    model: str = Field(description="registry model name")
    provider_model: str = ""
    tier: str | None = None
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    cost_usd: float | None = Field(description="null when the model has no price")
    unpriced: bool = False
    latency_ms: float
    ttft_ms: float | None = None
    retries: int = 0
    finish_reason: str = "stop"
    request_id: str | None = None
    tool_calls: list[str] = Field(default_factory=list, description="names of tools called")
    text: str = Field("", description="the model's text output (truncated)")


class ModelRetry(EventBase):
    kind: Literal["model_retry"] = "model_retry"
    model: str
    attempt: int
    error: dict[str, Any]
    status_code: int | None = None
    delay_s: float
    request_id: str | None = None


class ModelFallback(EventBase):
    kind: Literal["model_fallback"] = "model_fallback"
    from_model: str
    to_model: str | None
    reason: str
    cooldown_s: float | None = None


class ToolCallEvent(EventBase):
    kind: Literal["tool_call"] = "tool_call"
    agent: str
    tool: str
    call_id: str
    arguments: Any = None
    ok: bool
    error: str | None = None
    error_kind: str | None = Field(
        None, description="invalid_json | invalid_arguments | unknown_tool | raised | timeout"
    )
    output: str = Field("", description="the result sent to the model (truncated)")
    output_bytes: int = 0
    signals: dict[str, Any] = Field(default_factory=dict)
    duration_ms: float = 0.0
    cached: bool = False
    source: str | None = Field(None, description='where the tool came from, e.g. "mcp:files"')


class DetectorVerdictEvent(EventBase):
    kind: Literal["detector"] = "detector"
    detector: str
    agent: str
    verdict: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    step: int
    action: Literal["nudge", "escalate", "record"] = "record"


class EscalationEvent(EventBase):
    kind: Literal["escalation"] = "escalation"
    trigger: Trigger
    reason: str
    from_model: str
    to_model: str | None
    mode: EscalationMode | None
    outcome: Literal["advised", "took_over", "handed_back", "refused", "failed"]
    cost_usd: float | None = None
    agent: str = ""
    question: str = ""
    guidance: str = ""
    refused_because: str | None = None
    back_to_back: int = 0
    depth: int = 1


class ApprovalEvent(EventBase):
    """A tool call that needs a human: one event when asked, one when decided."""

    kind: Literal["approval"] = "approval"
    agent: str
    tool: str
    call_id: str
    stage: Literal["requested", "decided"]
    arguments: Any = None
    decision: Literal["approve", "deny", "edit"] | None = None
    edited_arguments: Any = None
    decided_by: Literal["approver", "timeout", "no_approver"] | None = None
    reason: str = ""
    wait_ms: float = 0.0


class FeedbackEvent(EventBase):
    """An outcome reported after the run, fed to the router that routed it."""

    kind: Literal["feedback"] = "feedback"
    router: str
    reward: float
    routes: list[str] = Field(default_factory=list, description="the arms that were updated")
    route_span_ids: list[str] = Field(default_factory=list)
    source: Literal["api", "cli", "gate"] = "api"


class Note(EventBase):
    """Free-form framework notes: nudges, compaction, fallbacks to a default route."""

    kind: Literal["note"] = "note"
    agent: str = ""
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


Event = Annotated[
    RunStarted
    | RunFinished
    | AgentStarted
    | AgentFinished
    | RouteEvent
    | ModelCall
    | ModelRetry
    | ModelFallback
    | ToolCallEvent
    | DetectorVerdictEvent
    | EscalationEvent
    | ApprovalEvent
    | FeedbackEvent
    | Note,
    Field(discriminator="kind"),
]

_ADAPTER: TypeAdapter[Event] | None = None


def event_adapter() -> TypeAdapter[Event]:
    """The one TypeAdapter that parses and serializes events (built on first use)."""
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(Event)
    return _ADAPTER


def event_json_schema() -> dict[str, Any]:
    """The JSON Schema of one trace line."""
    schema = event_adapter().json_schema()
    schema["title"] = "dispatcher trace event"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
