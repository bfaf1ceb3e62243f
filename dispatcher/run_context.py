"""State shared by every agent of one run: tracer, tools, budget and the cost ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatcher.budgets import BudgetTracker
from dispatcher.errors import ModelError
from dispatcher.escalation.settings import EscalationSettings
from dispatcher.messages import ModelResponse, ToolCall, Usage
from dispatcher.redaction import clip
from dispatcher.registry.profiles import ModelProfile, cost_usd
from dispatcher.registry.registry import Registry
from dispatcher.tools.executor import ToolExecutor
from dispatcher.trace.events import ModelCall
from dispatcher.trace.tracer import Tracer

if TYPE_CHECKING:
    from dispatcher.mcp._hub import MCPHub

__all__ = ["CostLedger", "RunContext"]

_TRACE_TEXT_CHARS = 1_000


def _check_response(response: Any, model: str) -> None:
    """Every model answer passes here first: one of the wrong shape (a user's own `Model`)
    is a ModelError naming the model, not an AttributeError deep in the run or a float
    token count that makes the trace unreadable."""
    problem = None
    if not isinstance(response, ModelResponse):
        problem = f"returned {type(response).__name__}"
    elif not isinstance(response.text, str):
        problem = f"returned text of type {type(response.text).__name__}"
    elif not isinstance(response.tool_calls, tuple | list) or not all(
        isinstance(call, ToolCall)
        and all(isinstance(part, str) for part in (call.id, call.name, call.arguments))
        for call in response.tool_calls
    ):
        problem = "returned tool_calls that are not ToolCall(id, name, arguments) texts"
    elif not isinstance(response.usage, Usage) or not all(
        type(count) is int
        for count in (
            response.usage.input_tokens,
            response.usage.output_tokens,
            response.usage.cached_input_tokens,
        )
    ):
        problem = "returned usage that is not a Usage of whole token counts"
    if problem is not None:
        raise ModelError(
            f"model {model!r} {problem}, not a ModelResponse(text: str, tool_calls: "
            "tuple[ToolCall, ...], usage: Usage(int, int, int)); fix the Model's request()",
            model=model,
        )


def _plausible(usage: Usage) -> Usage:
    """The counts a server reported, made possible: none below 0, cached within input.

    They come from the provider (untrusted): a negative count, or more cached tokens than
    input tokens, would price a call below $0 and give the run's usd budget back."""
    input_tokens = max(0, usage.input_tokens)
    output_tokens = max(0, usage.output_tokens)
    cached = min(max(0, usage.cached_input_tokens), input_tokens)
    if (input_tokens, output_tokens, cached) == (
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
    ):
        return usage
    return Usage(input_tokens, output_tokens, cached)


@dataclass(slots=True)
class CostLedger:
    """What a run spent, and what the same tokens would have cost on the strong model."""

    strong: ModelProfile | None
    cost_usd: float = 0.0
    priced_calls: int = 0
    counterfactual_usd: float = 0.0
    counterfactual_priced: bool = True
    usage: Usage = field(default_factory=Usage)
    unpriced_models: set[str] = field(default_factory=set)
    model_calls: int = 0

    def add(self, profile: ModelProfile, usage: Usage) -> float | None:
        cost = cost_usd(profile.price, usage)
        self.model_calls += 1
        self.usage = self.usage + usage
        if cost is None:
            self.unpriced_models.add(profile.name)
        else:
            self.cost_usd += cost
            self.priced_calls += 1
        strong_cost = cost_usd(self.strong.price, usage) if self.strong else None
        if strong_cost is None:
            self.counterfactual_priced = False
        else:
            self.counterfactual_usd += strong_cost
        return cost

    @property
    def total_cost(self) -> float | None:
        return self.cost_usd if self.priced_calls or not self.unpriced_models else None

    @property
    def counterfactual(self) -> float | None:
        return self.counterfactual_usd if self.counterfactual_priced else None


@dataclass(slots=True)
class RunContext:
    """Everything an agent needs during a run, shared across the agents of that run."""

    registry: Registry
    tracer: Tracer
    executor: ToolExecutor
    budget: BudgetTracker
    ledger: CostLedger
    detector_defaults: Mapping[str, Any] = field(default_factory=dict)
    escalation_defaults: EscalationSettings = field(default_factory=EscalationSettings)
    escalations: int = 0
    trace_path: Path | None = None
    mcp: MCPHub | None = None  # set when an agent of the registry uses MCP servers
    gate_results: list[tuple[str, bool]] = field(default_factory=list)  # (agent, passed)

    def record_model_call(
        self,
        *,
        agent: str,
        profile: ModelProfile,
        response: ModelResponse,
        parent_id: str | None,
    ) -> float | None:
        """Account for one response and write its `model_call` event; returns its cost."""
        _check_response(response, profile.name)
        usage = _plausible(response.usage)
        cost = self.ledger.add(profile, usage)
        self.budget.record_model_call(usage.total_tokens, cost)
        self.tracer.emit(
            ModelCall,
            parent_id=parent_id,
            agent=agent,
            model=profile.name,
            provider_model=response.model or profile.provider_model,
            tier=profile.tier,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            cost_usd=cost,
            unpriced=cost is None,
            latency_ms=response.latency_ms,
            ttft_ms=response.ttft_ms,
            retries=response.retries,
            finish_reason=response.finish_reason,
            request_id=response.request_id,
            tool_calls=[c.name for c in response.tool_calls],
            text=clip(response.text, _TRACE_TEXT_CHARS),
        )
        return cost
