"""Determinism: the same cassette and seed give the same trace, apart from ids and timestamps."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from reliability_harness import scripted_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.cassette import load_cassette
from dispatcher.errors import RetryableProviderError
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.models import Model, RetryingModel
from dispatcher.recording import replay_factory
from dispatcher.registry.profiles import ModelProfile
from dispatcher.trace.reader import read_trace

# Differ between two runs by design; everything else must be identical.
VOLATILE = {"run_id", "ts", "duration_ms", "latency_ms", "ttft_ms"}

CASSETTE = {
    "version": 1,
    "models": {
        "small": [
            {
                "agent": "dispatcher",
                "tool_calls": [
                    {"id": "d1", "name": "sales", "arguments": {"task": "q1 sales"}},
                    {"id": "d2", "name": "stock", "arguments": {"task": "q1 stock"}},
                ],
            },
            {
                "agent": "sales",
                "tool_calls": [{"id": "s1", "name": "lookup", "arguments": {"key": "sales"}}],
            },
            {
                "agent": "stock",
                "tool_calls": [{"id": "k1", "name": "lookup", "arguments": {"key": "stock"}}],
            },
            {"agent": "sales", "text": "sales were 10"},
            {"agent": "stock", "text": "stock is 5"},
            {"agent": "dispatcher", "text": "Sales 10, stock 5."},
        ]
    },
}


@tool
def lookup(key: str) -> str:
    """Look a figure up."""
    return {"sales": "10", "stock": "5"}[key]


AGENTS = [
    Agent(name="sales", description="Sales figures.", tools=[lookup], tier="weak"),
    Agent(name="stock", description="Stock levels.", tools=[lookup], tier="weak"),
]


class FirstCallOverloaded:
    """The provider is overloaded once; the seeded backoff decides the recorded delay."""

    def __init__(self, inner: Model) -> None:
        self.model_id = inner.model_id
        self.inner = inner
        self.failed = False

    async def request(self, request: ModelRequest) -> ModelResponse:
        if not self.failed:
            self.failed = True
            raise RetryableProviderError("overloaded", model=self.model_id, status_code=529)
        return await self.inner.request(request)


async def _no_wait(_: float) -> None:
    return None


def _run(cassette_path: Path, runs_dir: Path, seed: int) -> list[dict[str, Any]]:
    scripted, replay = replay_factory(load_cassette(cassette_path))

    def factory(profile: ModelProfile) -> Model:
        inner = FirstCallOverloaded(replay(profile))
        return RetryingModel(inner, sleep=_no_wait, rng=random.Random(seed))

    registry, _, _ = scripted_registry(AGENTS, small=[])
    registry.use_models(factory)
    result = Dispatcher(registry, runs_dir=runs_dir).run_sync("How did q1 go?")
    assert all(model.remaining == 0 for model in scripted.values())
    assert result.trace_path is not None
    return [
        {k: v for k, v in event.model_dump().items() if k not in VOLATILE}
        for event in read_trace(result.trace_path)
    ]


def test_same_cassette_and_seed_give_the_same_trace(tmp_path: Path) -> None:
    cassette = tmp_path / "q1.json"
    cassette.write_text(json.dumps(CASSETTE))
    first = _run(cassette, tmp_path / "a", seed=11)
    second = _run(cassette, tmp_path / "b", seed=11)
    assert len(first) > 15
    assert first == second
    (retry,) = [e for e in first if e["kind"] == "model_retry"]
    assert retry["delay_s"] > 0  # the seeded jitter is part of what must repeat


def test_a_different_seed_shows_in_the_trace(tmp_path: Path) -> None:
    """The comparison is sharp enough to see a change in one number."""
    cassette = tmp_path / "q1.json"
    cassette.write_text(json.dumps(CASSETTE))
    assert _run(cassette, tmp_path / "a", seed=11) != _run(cassette, tmp_path / "b", seed=12)
