"""Routing decision latency, p50 and p99, per router (one prompt per decision, one process).

Routers come from the public seam (`dispatcher.routing.build_router` and the router classes):

- length: the length rule (`{"type": "length"}`).
- predictive (cached embedding): the win-rate model trained on a sample of RouteLLM's MMLU
  outcomes; the query's embedding is already in the embedding cache, so this is the router's
  own work (cache lookup, text features, model).
- semantic (new query): nearest-route over MiniLM embeddings of example prompts; every query is
  new, so each decision includes embedding the query (numpy MiniLM, 128 tokens).
- bandit: LinUCB over text features (`{"type": "bandit"}`), warmed with replayed feedback.
- dispatcher model (forced tool choice): no router; the dispatcher model is asked with
  `tool_choice="required"` and answers at once (a zero-latency `FunctionModel`). Measured from
  the start of routing (building the choice schema) to the valid `route` event: request,
  model_call event, parsing and schema check of the choice, route event. Framework time only.

Data: `--data` (default ../shared/data/routellm/mmlu next to the repository): 300 records train
the predictive model and give the semantic examples; 200 other prompts are the queries. With
no data, templated prompts with scores from the length rule are used (and reported as such).
MMLU prompts are long (most hit the 128-token cap); a 20-word variant of the semantic queries
shows the cost for a typical short request.

    python benchmarks/routing_latency.py [--json] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine, print_table, summary

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "routellm" / "mmlu"
STRONG, WEAK = "strong", "weak"


def _records(data: Path, train: int, queries: int) -> tuple[list[Any], list[str], str]:
    """Training records with strong/weak scores, and query prompts not among them."""
    from dispatcher.preferences import PreferenceRecord, import_routellm

    rng = random.Random(7)
    if data.is_dir():
        imported = list(import_routellm(data).records)
        rng.shuffle(imported)
        models = sorted({m for r in imported[:50] for m in r.scores})
        strong, weak = (models[0], models[1]) if "gpt-4" in models[0] else (models[1], models[0])
        picked = [r for r in imported if strong in r.scores and weak in r.scores]
        training = [
            PreferenceRecord(r.id, r.prompt, {STRONG: r.scores[strong], WEAK: r.scores[weak]})
            for r in picked[:train]
        ]
        asked = [r.prompt for r in picked[train : train + queries]]
        return training, asked, f"RouteLLM MMLU sample ({strong} vs {weak})"
    topics = ["algebra", "anatomy", "law", "history", "chemistry", "ethics", "physics"]
    prompts = [
        f"Question {i} on {rng.choice(topics)}: "
        + " ".join(rng.choices(topics, k=rng.randint(3, 60)))
        for i in range(train + queries)
    ]
    training = [
        PreferenceRecord(str(i), p, {STRONG: 1.0, WEAK: float(len(p) < 200)})
        for i, p in enumerate(prompts[:train])
    ]
    return training, prompts[train:], "synthetic templated prompts (no RouteLLM data found)"


def _time_calls(call: Callable[[str], object], prompts: Sequence[str], rounds: int) -> list[float]:
    """Milliseconds per call, over `rounds` passes through the prompts."""
    timings: list[float] = []
    for _ in range(rounds):
        for prompt in prompts:
            started = time.perf_counter()
            call(prompt)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def routers(data: Path, queries: int) -> tuple[dict[str, list[float]], str]:
    from dispatcher.embeddings import build_embedder
    from dispatcher.preferences import PreferenceDataset
    from dispatcher.routing import RouteContext, build_router
    from dispatcher.routing.predictive import PredictiveRouter
    from dispatcher.routing.semantic import SemanticRouter

    training, asked, source = _records(data, 300, queries)
    candidates = (STRONG, WEAK)
    timings: dict[str, list[float]] = {}

    def decide(router: Any) -> Callable[[str], object]:
        return lambda prompt: router(RouteContext(prompt=prompt, candidates=candidates))

    length = build_router({"type": "length"})
    timings["length"] = _time_calls(decide(length), asked, rounds=10)

    # The on-disk embedding cache (shared with benchmarks/routers) makes training fast after
    # the first run; every query the semantic router measures is new text, embedded then.
    cached = build_embedder("minilm:128", cache=True)
    fresh = build_embedder("minilm:128")
    dataset = PreferenceDataset(tuple(training), source)
    predictive = PredictiveRouter.fit(dataset, STRONG, WEAK, cached)
    cached.embed(asked)  # the queries' embeddings are in the cache from now on
    timings["predictive (cached embedding)"] = _time_calls(decide(predictive), asked, rounds=10)

    examples = {
        STRONG: [r.prompt for r in training if r.scores[STRONG] > r.scores[WEAK]][:100],
        WEAK: [r.prompt for r in training if r.scores[STRONG] <= r.scores[WEAK]][:100],
    }
    semantic = SemanticRouter(examples, cached, default_threshold=0.3)
    semantic(RouteContext(prompt="warm-up", candidates=candidates))  # embeds the examples once
    semantic.embedder = fresh  # from here on every query is embedded, never looked up
    new_queries = [f"{prompt}\n(asked again)" for prompt in asked]
    timings["semantic (new query, embedding included)"] = _time_calls(
        decide(semantic), new_queries, rounds=1
    )
    timings["query embedding alone (MiniLM, 128 tokens)"] = _time_calls(
        lambda prompt: fresh.embed([prompt + " "]), new_queries[:100], rounds=1
    )
    short = [" ".join(prompt.split()[:20]) for prompt in new_queries[:100]]
    timings["semantic, 20-word queries"] = _time_calls(decide(semantic), short, rounds=1)

    bandit = build_router({"type": "bandit"})
    for record in training:  # bandit feedback: only the chosen arm's outcome is seen
        arm = bandit(RouteContext(prompt=record.prompt, candidates=candidates)).chosen or WEAK
        bandit.update(record.prompt, arm, record.scores[arm])  # type: ignore[attr-defined]
    timings["bandit (LinUCB, text features)"] = _time_calls(decide(bandit), asked, rounds=10)
    return timings, source


def forced_tool_choice(runs: int) -> list[float]:
    """Milliseconds from the start of routing to the dispatcher model's validated choice."""
    import anyio

    from dispatcher import Agent, Dispatcher, ModelRequest, ModelResponse, Registry, ToolCall
    from dispatcher.registry.config import parse_registry_config
    from dispatcher.testing import FunctionModel
    from dispatcher.trace.events import EventBase

    specialists = [
        Agent(name=name, description=f"Answers questions about {name}.", tier="weak")
        for name in ("sales", "inventory", "billing", "support")
    ]
    config = parse_registry_config(
        {
            "model_list": [
                {"model_name": "small", "litellm_params": {"model": "openai/small-model"}}
            ],
            "dispatcher": {"tiers": {"weak": "small", "strong": "small"}},
        }
    )
    registry = Registry(config)
    for agent in specialists:
        registry.register(agent)

    def reply(request: ModelRequest) -> ModelResponse:
        role = request.metadata.get("role")
        if role == "dispatcher" and request.tool_choice == "required":
            arguments = json.dumps({"task": "How many units of sku 42 are left?"})
            call = ToolCall("c1", "inventory", arguments)
            return ModelResponse(text="", tool_calls=(call,), finish_reason="tool_calls")
        return ModelResponse(text="12 units")

    registry.use_models({"small": FunctionModel(reply)})
    decided: list[float] = []

    class RouteClock:
        """A sink that notes when the valid route event is written."""

        def write(self, event: EventBase) -> None:
            if getattr(event, "kind", "") == "route" and getattr(event, "valid", False):
                decided.append(time.perf_counter())

        def close(self) -> None:
            return None

    started: list[float] = []

    class TimedDispatcher(Dispatcher):
        # The benchmark's only reach into a private method: where routing begins.
        async def _dispatch(self, task: str, run: Any, outcome: Any) -> str:
            started.append(time.perf_counter())
            return await super()._dispatch(task, run, outcome)

    async def measure() -> list[float]:
        with tempfile.TemporaryDirectory(prefix="dispatcher-bench-") as folder:
            dispatcher = TimedDispatcher(registry, runs_dir=Path(folder), sinks=[RouteClock()])
            for _ in range(runs + 5):
                await dispatcher.run("How many units of sku 42 are left in stock?")
        pairs = list(zip(started, decided, strict=True))[5:]
        return [(end - begin) * 1000 for begin, end in pairs]

    result: list[float] = anyio.run(measure)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dispatcher-runs", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    timings, source = routers(args.data, args.queries)
    timings["dispatcher model (forced tool choice, zero-latency model)"] = forced_tool_choice(
        args.dispatcher_runs
    )
    stats = {name: summary(values) for name, values in timings.items()}
    out: dict[str, Any] = {
        "p50_ms": {name: s["median"] for name, s in stats.items()},
        "p99_ms": {name: s["p99"] for name, s in stats.items()},
        "details": stats,
        "data": source,
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"Routing decision latency in ms (data: {source})")
    print_table(
        ["router", "p50 ms", "p99 ms", "min ms", "decisions"],
        [[n, s["median"], s["p99"], s["min"], s["n"]] for n, s in stats.items()],
    )
    print(f"\nmachine: {json.dumps(out['machine'])}")


if __name__ == "__main__":
    main()
