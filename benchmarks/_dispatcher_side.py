"""The benchmark workload run by dispatcher: a worker loop over one tiny tool, traced to JSONL.

Argument validation (jsonschema, with its fast path) and JSONL tracing to a real file are on,
the detectors run at their defaults, and the model is a `FunctionModel` that answers at once
with fixed usage (as a provider reports it), so every microsecond measured is the framework's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from dispatcher import (
    Agent,
    Dispatcher,
    ModelRequest,
    ModelResponse,
    Registry,
    ToolCall,
    Usage,
    tool,
)
from dispatcher.registry.config import parse_registry_config
from dispatcher.runner import run_session
from dispatcher.testing import FunctionModel
from dispatcher.worker import run_agent

__all__ = [
    "TASK",
    "DispatcherRouterWorkload",
    "DispatcherWorkload",
    "TurnHook",
    "convert",
    "tool_arguments",
]

TASK = "Convert every quantity to grams, one call at a time, until told to stop."
INPUT_TOKENS = 40
OUTPUT_TOKENS = 12
USAGE = Usage(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS)

# Awaited at the start of every model call with the turn number (0 = first call): a latency,
# a gate that holds runs live, or a clock reading. None costs nothing.
TurnHook = Callable[[int], Awaitable[None]]


async def convert(key: int, unit: str) -> str:
    """Convert quantity number `key` to `unit`."""
    # async: both peers run a sync tool in a worker thread; an async tool keeps them inline.
    # A few new words each step, like a real observation: the stall detector sees progress.
    return f"quantity {key} in {unit}: v{key * 7} c{key * 13}"


def tool_arguments(turn: int) -> str:
    """The JSON arguments of the model's call at `turn` (the same for every framework)."""
    return f'{{"key": {turn}, "unit": "grams"}}'


def final_text(turn: int) -> str:
    return f"converted {turn} quantities"


def _registry(agent: Agent, model: FunctionModel) -> Registry:
    config = parse_registry_config(
        {
            "model_list": [
                {"model_name": "small", "litellm_params": {"model": "openai/small-model"}},
                {"model_name": "big", "litellm_params": {"model": "openai/big-model"}},
            ],
            "dispatcher": {
                "tiers": {"weak": "small", "strong": "big"},
                "prices": {
                    "small": {"input": 0.2, "output": 0.8},
                    "big": {"input": 3.0, "output": 15.0},
                },
            },
        }
    )
    registry = Registry(config)
    registry.register(agent)
    registry.use_models({"small": model})
    return registry


class DispatcherWorkload:
    """`run()` is one whole traced run: `run_session` (trace file) around `run_agent`."""

    name = "dispatcher"

    def __init__(self, trace_dir: Path, *, steps: int = 20, hook: TurnHook | None = None) -> None:
        self.trace_dir = trace_dir
        self.steps = steps
        self.hook = hook
        self.agent = Agent(
            name="converter",
            description="Converts quantities with a tool.",
            tier="weak",
            tools=[tool(convert)],
        )
        reply = self._respond if hook is None else self._respond_after_hook
        self.registry = _registry(self.agent, FunctionModel(reply))

    def _respond(self, request: ModelRequest) -> ModelResponse:
        # history is [user, (assistant, tool result) * turn]: O(1), the model must cost nothing
        turn = (len(request.messages) - 1) // 2
        if turn >= self.steps:
            return ModelResponse(text=final_text(turn), usage=USAGE, model="fn")
        call = ToolCall(f"call_{turn}", "convert", tool_arguments(turn))
        return ModelResponse(
            text="", tool_calls=(call,), usage=USAGE, finish_reason="tool_calls", model="fn"
        )

    async def _respond_after_hook(self, request: ModelRequest) -> ModelResponse:
        assert self.hook is not None
        await self.hook((len(request.messages) - 1) // 2)
        return self._respond(request)

    async def run(self) -> str:
        async with run_session(self.registry, TASK, entry="converter", runs_dir=self.trace_dir) as (
            run,
            outcome,
        ):
            result = await run_agent(self.agent, TASK, run)
            outcome.answer = result.output
        return result.output


class _AlwaysConverter:
    """A router that always picks the one specialist (no dispatcher model turn)."""

    name = "always"

    def __call__(self, context: Any) -> Any:
        from dispatcher.routing import RouteDecision

        return RouteDecision(self.name, "converter", 1.0, 0.5, "only one specialist")


class DispatcherRouterWorkload(DispatcherWorkload):
    """The public entry point: `Dispatcher.run` with a router, returning a full `RunResult`."""

    name = "dispatcher_run"

    def __init__(self, trace_dir: Path, *, steps: int = 20, hook: TurnHook | None = None) -> None:
        super().__init__(trace_dir, steps=steps, hook=hook)
        self.dispatcher = Dispatcher(self.registry, router=_AlwaysConverter(), runs_dir=trace_dir)

    async def run(self) -> str:
        result = await self.dispatcher.run(TASK)
        assert len(result.events) > self.steps  # what a caller may read: the whole trace
        return result.answer or ""
