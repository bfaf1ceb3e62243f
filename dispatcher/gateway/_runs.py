"""`dispatcher/auto` and `agent/<name>`: a run per request, answered as Chat Completions.

The run is read through `RunStream`. A stream's headers go out when the first worker starts
(that is when `x-dispatcher-route` is known); until then an error is still a plain HTTP
error. While the run works, each trace event is sent as an SSE comment (`: route`), which
clients ignore and which keeps idle proxies from closing the connection. The last chunk
carries a `dispatcher` object with the run id, the route and the final escalation count.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from dispatcher._streaming import ModelTextDelta, RunStream, TextDelta
from dispatcher.dispatching import Dispatcher
from dispatcher.gateway._asgi import SSE, Reply
from dispatcher.gateway._errors import gateway_error
from dispatcher.gateway._wire import ChatRequest, chunk_bytes, completion_body
from dispatcher.runner import RunResult, new_run_id, run_session
from dispatcher.trace.events import AgentStarted, RunFinished
from dispatcher.trace.sink import TraceSink
from dispatcher.worker import run_agent

__all__ = ["answer_with_run"]


async def _agent_run(
    dispatcher: Dispatcher, agent_name: str, task: str, run_id: str, sinks: Sequence[TraceSink]
) -> RunResult:
    """One specialist on the task, no routing: what `agent/<name>` asks for."""
    agent = dispatcher.registry.agent(agent_name)
    async with run_session(
        dispatcher.registry,
        task,
        entry=agent_name,
        runs_dir=dispatcher.runs_dir,
        budgets=dispatcher.budgets,
        sinks=[*dispatcher.sinks, *sinks],
        run_id=run_id,
    ) as (run, outcome):
        result = await run_agent(agent, task, run)
        outcome.answer = result.output
        outcome.routes.append(agent_name)
    return RunResult(
        run_id=run_id,
        answer=outcome.answer,
        status="ok",
        cost_usd=run.ledger.total_cost,
        counterfactual_cost_usd=run.ledger.counterfactual,
        trace_path=run.trace_path,
        routes=list(outcome.routes),
        escalations=run.escalations,
    )


def _route(event: AgentStarted) -> str:
    return f"{event.tier or 'direct'}/{event.model}"


async def answer_with_run(
    reply: Reply, *, dispatcher: Dispatcher, request: ChatRequest, task: str, agent: str | None
) -> None:
    """Run `task` (routed, or on `agent`) and answer in the shape the request asked for."""
    run_id = new_run_id()
    headers = {"x-dispatcher-run-id": run_id, "x-dispatcher-escalations": "0"}
    reply.headers = headers
    # A streamed answer also carries the models' text as they write it (`reasoning_content`).
    live = request.stream
    stream = (
        dispatcher.stream(task, run_id=run_id, model_text=live)
        if agent is None
        else RunStream(
            functools.partial(_agent_run, dispatcher, agent, task, run_id), model_text=live
        )
    )
    completion_id = f"chatcmpl-{run_id}"
    created = int(time.time())
    model = request.model
    fallback_route: str | None = None
    text: list[str] = []
    working: list[str] = []  # models' text before the stream's headers could go out
    finished: RunFinished | None = None
    try:
        async with stream as events:
            async for item in events:
                if isinstance(item, ModelTextDelta):
                    if not reply.started:
                        working.append(item.text)
                        continue
                    await reply.write(
                        chunk_bytes(
                            completion_id=completion_id,
                            model=model,
                            created=created,
                            delta={"reasoning_content": item.text},
                        )
                    )
                    continue
                if isinstance(item, TextDelta):
                    text.append(item.text)
                    if reply.started:
                        delta = {"content": item.text}
                        await reply.write(
                            chunk_bytes(
                                completion_id=completion_id,
                                model=model,
                                created=created,
                                delta=delta,
                            )
                        )
                    continue
                if isinstance(item, RunFinished):
                    finished = item
                if isinstance(item, AgentStarted) and "x-dispatcher-route" not in headers:
                    if item.role == "worker":
                        headers["x-dispatcher-route"] = _route(item)
                        headers["x-dispatcher-agent"] = item.agent
                    elif fallback_route is None:
                        fallback_route = _route(item)
                if request.stream and not reply.started and "x-dispatcher-route" in headers:
                    await _start_stream(reply, headers, completion_id, model, created, working)
                elif reply.started:
                    await reply.write(b": " + item.kind.encode() + b"\n\n")  # type: ignore[attr-defined]
    except Exception as exc:
        if fallback_route and "x-dispatcher-route" not in headers:
            headers["x-dispatcher-route"] = fallback_route
        await reply.error(gateway_error(exc, run_id=run_id), headers)
        return
    result = stream.result
    assert result is not None  # the stream ended without an error
    headers.setdefault("x-dispatcher-route", fallback_route or "none")
    input_tokens = finished.input_tokens if finished else 0
    output_tokens = finished.output_tokens if finished else 0
    extra = {
        "dispatcher": {
            "run_id": run_id,
            "route": headers["x-dispatcher-route"],
            "routes": result.routes,
            "escalations": result.escalations,
            "cost_usd": result.cost_usd,
        }
    }
    if not request.stream:
        import json

        headers["x-dispatcher-escalations"] = str(result.escalations)
        body = completion_body(
            completion_id=completion_id,
            model=model,
            text="".join(text),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )
        await reply.json(200, json.dumps({**body, **extra}).encode(), headers)
        return
    if not reply.started:  # the run finished before a worker started (e.g. a direct answer)
        await _start_stream(reply, headers, completion_id, model, created, working)
        if text:
            await reply.write(
                chunk_bytes(
                    completion_id=completion_id,
                    model=model,
                    created=created,
                    delta={"content": "".join(text)},
                )
            )
    usage = None
    if request.include_usage:
        usage = {
            "prompt_tokens": input_tokens,
            "completion_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
    await reply.write(
        chunk_bytes(
            completion_id=completion_id,
            model=model,
            created=created,
            delta={},
            finish_reason="stop",
            extra=extra,
        )
    )
    if usage is not None:
        await reply.write(
            chunk_bytes(completion_id=completion_id, model=model, created=created, usage=usage)
        )
    await reply.finish(b"data: [DONE]\n\n")


async def _start_stream(
    reply: Reply,
    headers: dict[str, str],
    completion_id: str,
    model: str,
    created: int,
    working: list[str],
) -> None:
    await reply.start(200, headers, SSE)
    delta: dict[str, str] = {"role": "assistant", "content": ""}
    if working:  # what models wrote before the route was known
        delta["reasoning_content"] = "".join(working)
        working.clear()
    await reply.write(
        chunk_bytes(completion_id=completion_id, model=model, created=created, delta=delta)
    )
