"""The benchmark workload run by dispatcher: a worker loop over one tiny tool, traced to JSONL.

Argument validation (jsonschema) and JSONL tracing to a real file are on, detectors are at
their defaults, and the model is a `FunctionModel` that answers instantly with fixed usage
(as a provider reports it), so every microsecond measured is the framework's own.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

from dispatcher import Agent, ModelRequest, ModelResponse, Registry, ToolCall, Usage, tool
from dispatcher.registry.config import parse_registry_config
from dispatcher.runner import run_session
from dispatcher.testing import FunctionModel
from dispatcher.worker import run_agent

__all__ = ["TASK", "DispatcherWorkload", "convert", "tool_arguments"]

TASK = "Convert every quantity to grams, one call at a time, until told to stop."
USAGE = Usage(input_tokens=40, output_tokens=12)


async def convert(key: int, unit: str) -> str:
    """Convert quantity number `key` to `unit`."""
    # async: both peers run a sync tool in a worker thread; an async tool keeps them inline.
    # A few new words each step, like a real observation: the stall detector sees progress.
    return f"quantity {key} in {unit}: v{key * 7} c{key * 13}"


CONVERT = tool(convert)


def tool_arguments(step: int) -> str:
    """The JSON arguments of the model's call at `step` (the same for every framework)."""
    return f'{{"key": {step}, "unit": "grams"}}'


def _calls_so_far(request: ModelRequest) -> int:
    # history is [user, (assistant, tool result) * i]: O(1), the model must cost nothing
    return (len(request.messages) - 1) // 2


class DispatcherWorkload:
    """Builds the registry once; `run()` does one whole traced run of `steps` tool turns."""

    name = "dispatcher"

    def __init__(
        self,
        trace_dir: Path,
        *,
        steps: int = 20,
        latency: Callable[[], object] | None = None,
        stamps: list[float] | None = None,
    ) -> None:
        self.trace_dir = trace_dir
        self.steps = steps
        self.stamps = stamps
        self._ids = itertools.count()
        self.agent = Agent(
            name="converter", description="Converts quantities with a tool.", tier="weak", tools=[CONVERT]
        )
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
        self.registry = Registry(config)
        self.registry.register(self.agent)
        model = FunctionModel(self._respond if latency is None else self._reply_later(latency))
        self.registry.use_models({"small": model})

    def _respond(self, request: ModelRequest) -> ModelResponse:
        if self.stamps is not None:
            self.stamps.append(time.perf_counter())
        done = _calls_so_far(request)
        if done >= self.steps:
            return ModelResponse(text=f"total is {done}", usage=USAGE, model="fn")
        call = ToolCall(f"call_{done}", "convert", tool_arguments(done))
        return ModelResponse(
            text="", tool_calls=(call,), usage=USAGE, finish_reason="tool_calls", model="fn"
        )

    def _reply_later(self, latency: Callable[[], object]) -> Callable[[ModelRequest], object]:
        async def reply(request: ModelRequest) -> ModelResponse:
            await latency()  # type: ignore[misc]
            return self._respond(request)

        return reply

    async def run(self) -> str:
        """One run: session (trace file), worker loop, run_finished."""
        run_id = f"bench-{next(self._ids)}"
        async with run_session(
            self.registry, TASK, entry="converter", runs_dir=self.trace_dir, run_id=run_id
        ) as (run, outcome):
            result = await run_agent(self.agent, TASK, run)
            outcome.answer = result.output
        return result.output
