"""Routing decision latency, p50 and p99, per router (one prompt per decision, one process).

Routers come from the public seam (`dispatcher.routing.build_router` and the router classes):

- length: the length rule (`{"type": "length"}`).
- predictive (cached embedding): the win-rate model trained on a sample of RouteLLM's MMLU
  outcomes; the query's embedding is already in the embedding cache, so this is the router's
  own work (cache lookup, text features, model).
- semantic (new query): nearest-route over MiniLM embeddings of example prompts; every query is
  new, so each decision includes embedding the query (numpy MiniLM, 128 tokens).
- static embedding / semantic cascade: `minilm-static` (MiniLM distilled into one vector per
  word piece) alone, the semantic router on it alone (thresholds mapped onto its scale by the
  cascade's fit), and the semantic router with it as `fast_embedder` at the default
  `fast_agreement` (0.95) and at 0.8: clear prompts are decided on the static embedding, the
  rest pay for MiniLM. Quality rows (`--json`: "quality"): share decided by the fast path, and
  agreement of each router's decisions with the full-MiniLM router's on the same queries; the
  full router's own agreement between a prompt and the same prompt with "(asked again)"
  appended is the noise floor.
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


def _agreement(a: Sequence[object], b: Sequence[object]) -> float:
    return round(100.0 * sum(x == y for x, y in zip(a, b, strict=True)) / len(a), 1)


def _cascade(
    examples: dict[str, list[str]],
    asked: list[str],
    queries: dict[str, list[str]],
    timings: dict[str, list[float]],
) -> dict[str, float]:
    """Time the static embedding and the cascaded semantic router; measure their agreement."""
    from dispatcher.embeddings import build_embedder
    from dispatcher.routing import RouteContext
    from dispatcher.routing.semantic import SemanticRouter

    candidates = (STRONG, WEAK)
    cached = build_embedder("minilm:128", cache=True)
    static = build_embedder("minilm-static")
    full = SemanticRouter(examples, cached, default_threshold=0.3)
    quality: dict[str, float] = {}

    def decide_with(router: Any) -> Callable[[str], object]:
        return lambda prompt: router(RouteContext(prompt=prompt, candidates=candidates))

    def chosen(router: Any, prompts: Sequence[str]) -> list[str | None]:
        return [router(RouteContext(prompt=p, candidates=candidates)).chosen for p in prompts]

    # The reference decisions use cached MiniLM vectors (computed once, then read from disk).
    reference = {kind: chosen(full, prompts) for kind, prompts in queries.items()}
    quality["full router self-agreement, MMLU + '(asked again)' (%)"] = _agreement(
        chosen(full, asked), reference["MMLU"]
    )
    static.embed(["warm-up"])  # builds the table on the first run, loads it after
    for kind, prompts in queries.items():
        timings[f"query embedding alone (minilm-static), {kind} queries"] = _time_calls(
            lambda prompt: static.embed([prompt + " "]), prompts[:100], rounds=1
        )
    for agreement in (0.95, 0.8):
        cascade = SemanticRouter(
            examples, cached, default_threshold=0.3, fast_embedder=static, fast_agreement=agreement
        )
        fit = cascade.fast_path()
        assert fit is not None
        fresh = build_embedder("minilm:128")
        cascade.embedder = fresh  # every query is embedded, never looked up
        for kind, prompts in queries.items():
            decisions: list[Any] = []

            def decide(
                prompt: str, cascade: Any = cascade, decisions: list[Any] = decisions
            ) -> None:
                decisions.append(cascade(RouteContext(prompt=prompt, candidates=candidates)))

            label = f"semantic cascade (static -> MiniLM, agreement {agreement}), {kind} queries"
            timings[label] = _time_calls(decide, prompts, rounds=1)
            fast = [d.reason.startswith("fast path") for d in decisions]
            quality[f"{label}: decided by the fast path (%)"] = round(
                100.0 * sum(fast) / len(fast), 1
            )
            quality[f"{label}: agreement with full MiniLM (%)"] = _agreement(
                [d.chosen for d in decisions], reference[kind]
            )
        if agreement == 0.95:
            # Static alone: the same similarity map, every decision taken on the fast path.
            mapped = {r: (t - fit.intercept) / fit.slope for r, t in cascade.thresholds.items()}
            alone = SemanticRouter(examples, static, thresholds=mapped)
            for kind, prompts in queries.items():
                quality[f"semantic on minilm-static alone, {kind} queries: agreement (%)"] = (
                    _agreement(chosen(alone, prompts), reference[kind])
                )
                timings[f"semantic on minilm-static alone (new query), {kind} queries"] = (
                    _time_calls(decide_with(alone), prompts, rounds=1)
                )
    return quality


# Intent-style routes: four topics, each given by example questions of a few MMLU subjects.
TOPICS = {
    "math": ("elementary_mathematics", "high_school_mathematics", "college_mathematics"),
    "law": ("professional_law", "international_law", "jurisprudence"),
    "medicine": ("clinical_knowledge", "college_medicine", "professional_medicine", "anatomy"),
    "history": (
        "high_school_us_history",
        "high_school_world_history",
        "high_school_european_history",
        "prehistory",
    ),
}
TOPIC_EXAMPLES, TOPIC_QUERIES = 25, 50  # per topic


def _topic_routes(data: Path, timings: dict[str, list[float]], quality: dict[str, float]) -> None:
    """Semantic routing as it is mostly used: distinct intents given by example utterances.

    Examples and queries are different MMLU questions of the topics' subjects; every query is
    new text. Reports p50 for the full-MiniLM router, the cascade and static alone, the share
    the fast path decides, agreement with the full router and accuracy against the true topic.
    """
    from dispatcher.embeddings import build_embedder
    from dispatcher.preferences import import_routellm
    from dispatcher.routing import RouteContext
    from dispatcher.routing.semantic import SemanticRouter

    rng = random.Random(11)
    by_topic: dict[str, list[str]] = {}
    subject_topic = {s: t for t, subjects in TOPICS.items() for s in subjects}
    for record in import_routellm(data).records:
        topic = subject_topic.get(record.group or "")
        if topic is not None:
            by_topic.setdefault(topic, []).append(record.prompt)
    examples: dict[str, list[str]] = {}
    asked: list[tuple[str, str]] = []
    for topic, prompts in sorted(by_topic.items()):
        rng.shuffle(prompts)
        examples[topic] = prompts[:TOPIC_EXAMPLES]
        picked = prompts[TOPIC_EXAMPLES : TOPIC_EXAMPLES + TOPIC_QUERIES]
        asked += [(topic, p) for p in picked]
    rng.shuffle(asked)
    topics = tuple(examples)
    cached = build_embedder("minilm:128", cache=True)
    static = build_embedder("minilm-static")
    routers = {
        "full MiniLM": SemanticRouter(examples, cached, default_threshold=0.2),
        "cascade (static -> MiniLM, agreement 0.95)": SemanticRouter(
            examples, cached, default_threshold=0.2, fast_embedder=static
        ),
    }
    for router in routers.values():
        router(RouteContext(prompt="warm-up", candidates=topics))  # examples embedded once
        router.embedder = build_embedder("minilm:128")  # every query embedded anew
    chosen: dict[str, list[str | None]] = {}
    for name, router in routers.items():
        decisions: list[Any] = []

        def decide(prompt: str, router: Any = router, decisions: list[Any] = decisions) -> None:
            decisions.append(router(RouteContext(prompt=prompt, candidates=topics)))

        label = f"semantic, 4 topic routes, {name}"
        timings[label] = _time_calls(decide, [p for _, p in asked], rounds=1)
        chosen[name] = [d.chosen for d in decisions]
        truth = [t for t, _ in asked]
        quality[f"{label}: right topic (%)"] = _agreement(chosen[name], truth)
        if name.startswith("cascade"):
            fast = [d.reason.startswith("fast path") for d in decisions]
            quality[f"{label}: decided by the fast path (%)"] = round(
                100.0 * sum(fast) / len(fast), 1
            )
            quality[f"{label}: agreement with full MiniLM (%)"] = _agreement(
                chosen[name], chosen["full MiniLM"]
            )


def routers(data: Path, queries: int) -> tuple[dict[str, list[float]], str, dict[str, float]]:
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
    quality = _cascade(examples, asked, {"MMLU": new_queries, "20-word": short}, timings)
    if data.is_dir():
        _topic_routes(data, timings, quality)

    bandit = build_router({"type": "bandit"})
    for record in training:  # bandit feedback: only the chosen arm's outcome is seen
        arm = bandit(RouteContext(prompt=record.prompt, candidates=candidates)).chosen or WEAK
        bandit.update(record.prompt, arm, record.scores[arm])  # type: ignore[attr-defined]
    timings["bandit (LinUCB, text features)"] = _time_calls(decide(bandit), asked, rounds=10)
    return timings, source, quality


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
    timings, source, quality = routers(args.data, args.queries)
    timings["dispatcher model (forced tool choice, zero-latency model)"] = forced_tool_choice(
        args.dispatcher_runs
    )
    stats = {name: summary(values) for name, values in timings.items()}
    out: dict[str, Any] = {
        "p50_ms": {name: s["median"] for name, s in stats.items()},
        "p99_ms": {name: s["p99"] for name, s in stats.items()},
        "details": stats,
        "quality": quality,
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
    print("\nSemantic cascade quality (decisions vs the full-MiniLM semantic router)")
    print_table(["measure", "value"], [[name, value] for name, value in quality.items()])
    print(f"\nmachine: {json.dumps(out['machine'])}")


if __name__ == "__main__":
    main()
