"""Builders for whole-run reliability tests: scripted registries and a fake provider over HTTP.

`Provider` is an httpx2.MockTransport handler that answers OpenAI Chat Completions requests
from per-host queues, so a run goes through the real SDK client, the real adapter, the registry's
default model factory (RetryingModel, FallbackModel) and the worker loop.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import anyio
import httpx2
from scenario import registry

from dispatcher import Agent, Registry
from dispatcher.registry.config import parse_registry_config
from dispatcher.testing import ScriptedModel

QUIET = {"detectors": {"enabled": False}, "escalation": {"enabled": False}}


def scripted_registry(
    agents: Sequence[Agent],
    *,
    small: Sequence[Any],
    strong: Sequence[Any] = (),
    dispatcher: Mapping[str, Any] | None = None,
) -> tuple[Registry, ScriptedModel, ScriptedModel]:
    """`scenario.registry` with detectors and escalation off unless `dispatcher` turns them on
    (these tests are about one guarantee each)."""
    return registry(agents, small=small, strong=strong, dispatcher={**QUIET, **(dispatcher or {})})


# ---------------------------------------------------------------- a fake provider over HTTP

Answer = httpx2.Response | Exception


class Provider:
    """Queued answers per host (one host per deployment); every request is recorded."""

    def __init__(self, **queues: Sequence[Answer]) -> None:
        self.queues = {host: list(answers) for host, answers in queues.items()}
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        queue = self.queues.get(request.url.host.removesuffix(".test"))
        if not queue:
            raise AssertionError(f"unexpected request #{len(self.requests)} to {request.url}")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def to(self, host: str) -> list[httpx2.Request]:
        return [r for r in self.requests if r.url.host == f"{host}.test"]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]

    def assert_drained(self) -> None:
        left = {host: len(q) for host, q in self.queues.items() if q}
        assert not left, f"answers never requested: {left}"


def wire_registry(
    agents: Sequence[Agent],
    http: httpx2.AsyncClient,
    *,
    models: Mapping[str, Mapping[str, Any]] | None = None,
    dispatcher: Mapping[str, Any] | None = None,
) -> Registry:
    """OpenAI-compatible deployments at http://<name>.test/v1, built by the default factory.

    `models` maps a model name to extra litellm_params (num_retries, stream, api_key...);
    the default is one weak model named `small`. `http` (with the Provider transport) is
    the only thing substituted: it is how a test reaches the SDK client.
    """
    models = models or {"small": {}}
    config = parse_registry_config(
        {
            "model_list": [
                {
                    "model_name": name,
                    "litellm_params": {
                        "model": f"openai/{name}-model",
                        "api_base": f"http://{name}.test/v1",
                        **params,
                    },
                }
                for name, params in models.items()
            ],
            "dispatcher": {
                "tiers": {"weak": next(iter(models))},
                "prices": {name: {"input": 1.0, "output": 2.0} for name in models},
                **QUIET,
                **(dispatcher or {}),
            },
        }
    )
    for name, profile in config.profiles.items():
        config.profiles[name] = dataclasses.replace(
            profile, options={**profile.options, "http_client": http}
        )
    registry = Registry(config)
    for agent in agents:
        registry.register(agent)
    return registry


def client(provider: Provider) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(provider))


def completion(
    text: str = "",
    *calls: tuple[str, str, Mapping[str, Any]],
    prompt_tokens: int = 20,
    completion_tokens: int = 5,
    request_id: str = "req_ok",
) -> httpx2.Response:
    """A Chat Completions answer: text, or tool calls given as (id, name, arguments)."""
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for cid, n, a in calls
        ]
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "served-model",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return httpx2.Response(200, json=body, headers={"x-request-id": request_id})


def error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    request_id: str = "req_err",
    **headers: str,
) -> httpx2.Response:
    """An OpenAI-style error answer; header names use `_` for `-` (retry_after_ms=...)."""
    body = {"error": {"message": message, "type": "api_error", "param": None, "code": code}}
    names = {name.replace("_", "-"): value for name, value in headers.items()}
    return httpx2.Response(status, json=body, headers={"x-request-id": request_id, **names})


def _chunk(delta: Mapping[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "served-model",
        "choices": [{"index": 0, "delta": dict(delta), "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


def tool_call_stream(call_id: str, name: str, arguments: Mapping[str, Any]) -> list[bytes]:
    """SSE chunks of one streamed tool call, its arguments split in two, then [DONE]."""
    raw = json.dumps(arguments)
    half = len(raw) // 2
    start = {"index": 0, "id": call_id, "type": "function"}
    return [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"tool_calls": [{**start, "function": {"name": name, "arguments": raw[:half]}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": raw[half:]}}]}),
        _chunk({}, finish="tool_calls"),
        b"data: [DONE]\n\n",
    ]


def text_stream(text: str) -> list[bytes]:
    """SSE chunks of a streamed text answer, then [DONE]."""
    return [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": text}),
        _chunk({}, finish="stop"),
        b"data: [DONE]\n\n",
    ]


def stream(chunks: Sequence[bytes], *, stall_after: int | None = None) -> httpx2.Response:
    """An SSE answer; with `stall_after`, the server goes silent after that many chunks."""

    async def body() -> AsyncIterator[bytes]:
        for index, chunk in enumerate(chunks):
            if stall_after is not None and index == stall_after:
                await anyio.Event().wait()
            yield chunk

    return httpx2.Response(200, content=body(), headers={"content-type": "text/event-stream"})


def kinds(events: Sequence[Any], kind: str) -> list[Any]:
    return [e for e in events if e.kind == kind]


def trace_lines(path: Any) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as file:
        for line in file:
            yield json.loads(line)
