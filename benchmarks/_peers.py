"""The same workload on the peers: pydantic-ai, the OpenAI Agents SDK, and a bare asyncio loop.

Each peer gets the same async tool, the same tool-call arguments, the same fixed usage and a
zero-latency model built on its own documented seam: pydantic-ai's `FunctionModel` (with an
async function, so it is not sent to a thread) and a subclass of the Agents SDK's
`agents.models.interface.Model` run by `Runner.run`. Neither peer traces anything here
(pydantic-ai has no instrumentation by default; the Agents SDK's tracing is switched off
because its default exporter would try the network), so their numbers are their best case.
"""

from __future__ import annotations

import json
from typing import Any

from _dispatcher_side import (
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    TASK,
    TurnHook,
    convert,
    final_text,
    tool_arguments,
)

__all__ = ["BareLoop", "OpenAIAgentsWorkload", "PydanticAIWorkload", "peers_available"]


def peers_available() -> dict[str, bool]:
    """Which peers are installed (the `bench` extra installs both)."""
    found = {}
    for name, module in (("pydantic_ai", "pydantic_ai"), ("openai_agents", "agents")):
        try:
            __import__(module)
        except ImportError:
            found[name] = False
        else:
            found[name] = True
    return found


class PydanticAIWorkload:
    """pydantic-ai `Agent` with a `FunctionModel`; one `agent.run()` per run."""

    name = "pydantic_ai"

    def __init__(self, *, steps: int = 20, hook: TurnHook | None = None) -> None:
        from pydantic_ai import Agent
        from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
        from pydantic_ai.models.function import AgentInfo, FunctionModel
        from pydantic_ai.usage import RequestUsage, UsageLimits

        self.steps = steps

        async def respond(messages: list[Any], info: AgentInfo) -> ModelResponse:
            turn = len(messages) // 2  # [request, (response, tool-return request) * turn]
            if hook is not None:
                await hook(turn)
            usage = RequestUsage(input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS)
            if turn >= self.steps:
                return ModelResponse(parts=[TextPart(final_text(turn))], usage=usage)
            part = ToolCallPart("convert", tool_arguments(turn), tool_call_id=f"call_{turn}")
            return ModelResponse(parts=[part], usage=usage)

        self.agent = Agent(FunctionModel(respond), tools=[convert])
        self.limits = UsageLimits(request_limit=None)

    async def run(self) -> str:
        result = await self.agent.run(TASK, usage_limits=self.limits)
        return str(result.output)


class OpenAIAgentsWorkload:
    """OpenAI Agents SDK `Agent` with a custom `Model`; one `Runner.run()` per run."""

    name = "openai_agents"

    def __init__(self, *, steps: int = 20, hook: TurnHook | None = None) -> None:
        from agents.items import ModelResponse
        from agents.models.interface import Model
        from agents.usage import Usage
        from openai.types.responses import (
            ResponseFunctionToolCall,
            ResponseOutputMessage,
            ResponseOutputText,
        )

        from agents import Agent, RunConfig, Runner, function_tool

        self.steps = steps
        total = self.steps

        class ZeroLatencyModel(Model):
            """Answers from the input length alone: tool calls, then a final message."""

            async def get_response(
                self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
            ) -> ModelResponse:
                turn = (len(input) - 1) // 2  # [user, (call, output) * turn]
                if hook is not None:
                    await hook(turn)
                usage = Usage(
                    requests=1,
                    input_tokens=INPUT_TOKENS,
                    output_tokens=OUTPUT_TOKENS,
                    total_tokens=INPUT_TOKENS + OUTPUT_TOKENS,
                )
                item: Any
                if turn >= total:
                    text = ResponseOutputText(
                        type="output_text", text=final_text(turn), annotations=[]
                    )
                    item = ResponseOutputMessage(
                        id=f"msg_{turn}",
                        type="message",
                        role="assistant",
                        status="completed",
                        content=[text],
                    )
                else:
                    item = ResponseFunctionToolCall(
                        id=f"fc_{turn}",
                        call_id=f"call_{turn}",
                        type="function_call",
                        name="convert",
                        arguments=tool_arguments(turn),
                    )
                return ModelResponse(output=[item], usage=usage, response_id=None)

            def stream_response(self, *args: Any, **kwargs: Any) -> Any:
                raise NotImplementedError("the benchmark does not stream")

        self.agent = Agent(
            name="converter",
            instructions="Convert quantities with the tool.",
            model=ZeroLatencyModel(),
            tools=[function_tool(convert)],
        )
        self.runner = Runner
        self.config = RunConfig(tracing_disabled=True)

    async def run(self) -> str:
        result = await self.runner.run(
            self.agent, TASK, max_turns=self.steps + 5, run_config=self.config
        )
        return str(result.final_output)


class BareLoop:
    """The floor: a hand-written asyncio loop with a list of dict messages and no checks."""

    name = "bare_loop"

    def __init__(self, *, steps: int = 20, hook: TurnHook | None = None) -> None:
        self.steps = steps
        self.hook = hook

    async def _model(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        turn = (len(messages) - 1) // 2
        if self.hook is not None:
            await self.hook(turn)
        if turn >= self.steps:
            return {"role": "assistant", "content": final_text(turn)}
        call = {"id": f"call_{turn}", "name": "convert", "arguments": tool_arguments(turn)}
        return {"role": "assistant", "tool_calls": [call]}

    async def run(self) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": TASK}]
        while True:
            reply = await self._model(messages)
            messages.append(reply)
            calls = reply.get("tool_calls")
            if not calls:
                return str(reply["content"])
            for call in calls:
                output = await convert(**json.loads(call["arguments"]))
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": output})
