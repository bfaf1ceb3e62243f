"""The semantic router's cascade: a fast embedding decides clear prompts, MiniLM the rest."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.errors import ConfigError
from dispatcher.routing import RouteContext, build_router
from dispatcher.routing._semantic_fast import clearance, fit_fast_path, leave_one_out
from dispatcher.routing.semantic import SemanticRouter

TOPICS = {
    "sql": ["sales", "revenue", "customers", "genre", "tracks", "invoice", "country", "album"],
    "code": ["python", "bug", "test", "function", "refactor", "exception", "compile", "module"],
}
# Eight three-word examples per route: words i, i+1 and i+2 of the topic, cyclically.
ROUTES = {
    route: [" ".join(words[(i + j) % len(words)] for j in range(3)) for i in range(len(words))]
    for route, words in TOPICS.items()
}
QUERIES = ["total sales revenue per country", "fix the python bug", "album tracks by genre"]
QUERIES += ["refactor the module test", "what a lovely day outside", "invoice customers album"]


class NoiseEmbedder:
    """Unrelated random unit vectors per text: a fast path that must never be trusted."""

    name, dim = "noise", 32

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            out[row] = np.random.default_rng(seed).normal(size=self.dim)
        norms: NDArray[np.float32] = out / np.linalg.norm(out, axis=1, keepdims=True)
        return norms


def router(fast: object | None, **options: float) -> SemanticRouter:
    return SemanticRouter(
        ROUTES,
        HashingEmbedder(128),
        default_threshold=0.2,
        fast_embedder=fast,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def decide(r: SemanticRouter, prompt: str) -> tuple[str | None, str]:
    decision = r(RouteContext(prompt, tuple(ROUTES)))
    return decision.chosen, decision.reason


def test_a_faithful_fast_embedding_decides_and_agrees() -> None:
    # 16 agreeing examples plus the pretend disagreement: 16/17 clears 0.9, not 0.95.
    assert router(HashingEmbedder(128)).fast_path().margin == np.inf  # type: ignore[union-attr]
    full, cascade = router(None), router(HashingEmbedder(128), fast_agreement=0.9)
    results = [decide(cascade, q) for q in QUERIES]
    assert [chosen for chosen, _ in results] == [decide(full, q)[0] for q in QUERIES]
    assert sum(reason.startswith("fast path (hashing/128") for _, reason in results) >= 4
    fit = cascade.fast_path()
    assert fit is not None and fit.slope == pytest.approx(1.0) and fit.agreement == 1.0


def test_an_unrelated_fast_embedding_never_decides() -> None:
    full, cascade = router(None), router(NoiseEmbedder())
    for query in QUERIES:
        chosen, reason = decide(cascade, query)
        assert reason.startswith("full path") and chosen == decide(full, query)[0]
    fit = cascade.fast_path()
    assert fit is not None and fit.margin == np.inf


def test_too_few_examples_keep_the_fast_path_off() -> None:
    few = SemanticRouter(
        {"sql": ["sales per country"], "code": ["fix the bug"]},
        HashingEmbedder(64),
        default_threshold=0.1,
        fast_embedder=HashingEmbedder(64),
    )
    chosen, reason = decide(few, "sales per country please")
    assert chosen == "sql" and reason.startswith("full path (fast path off")


def test_no_fast_embedder_keeps_the_plain_reason() -> None:
    chosen, reason = decide(router(None), QUERIES[0])
    assert chosen == "sql" and reason.startswith("closest to 'sql'")


def test_fit_thresholds_refits_the_fast_path() -> None:
    cascade = router(HashingEmbedder(128), fast_agreement=0.9)
    before = cascade.fast_path()
    cascade.fit_thresholds([(q, "sql" if i % 2 == 0 else "code") for i, q in enumerate(QUERIES)])
    after = cascade.fast_path()
    assert before is not None and after is not None and after is not before
    assert after.rows == before.rows + len(QUERIES)


def test_leave_one_out_drops_each_example_itself() -> None:
    a = np.eye(3, dtype=np.float32)[:2]  # two orthogonal examples in route 0
    b = np.eye(3, dtype=np.float32)[2:]  # route 1's only example
    sims = leave_one_out([a, b], top_k=1)
    assert sims[:, 0].tolist() == [0.0, 0.0, 0.0]  # never its own cosine of 1
    assert sims[2, 1] == -np.inf and sims[0, 1] == 0.0


def test_clearance_and_margin() -> None:
    thresholds = np.asarray([0.5, 0.5])
    sims = np.asarray([[0.9, 0.6], [0.7, 0.65], [0.2, 0.1]])
    assert clearance(sims, thresholds) == pytest.approx([0.3, 0.05, 0.3])
    rows = np.tile(sims, (6, 1))
    fit = fit_fast_path(rows, rows, thresholds, agreement=0.9)
    assert fit is not None and fit.margin == 0.0 and fit.cleared == 1.0  # all rows agree
    # The fast embedding swaps the close call: only the clear rows may be decided fast.
    swapped = np.tile(np.asarray([[0.9, 0.6], [0.65, 0.7], [0.2, 0.1]]), (6, 1))
    fit = fit_fast_path(swapped, rows, thresholds, agreement=0.9)
    assert fit is not None and fit.margin > 0.1 and fit.cleared == pytest.approx(2 / 3)
    assert fit_fast_path(sims, sims, thresholds, agreement=0.9) is None  # too few rows


def test_factory_wires_the_fast_embedder() -> None:
    config = {
        "type": "semantic",
        "routes": ROUTES,
        "embedder": "hashing:128",
        "fast_embedder": "hashing:128",
        "fast_agreement": 0.9,
        "default_threshold": 0.2,
    }
    built = build_router(config)
    assert isinstance(built, SemanticRouter) and built.fast_agreement == 0.9
    assert built(RouteContext(QUERIES[1], tuple(ROUTES))).reason.startswith("fast path")
    with pytest.raises(ConfigError, match="fast_agreement"):
        build_router({**config, "fast_agreement": 1.5})
    with pytest.raises(ConfigError, match="'fast_embedder' must be"):
        build_router({**config, "fast_embedder": 3})


def test_examples_that_all_look_alike_to_the_fast_embedding_keep_it_off() -> None:
    # Every fitting row had the same fast similarity: the least-squares map was a constant
    # (0.5 here), every row "agreed", and gibberish was routed fast to a route at 0.5.
    routes = {"a": ["same"] * 20, "b": ["same"] * 20}
    router = SemanticRouter(
        routes, HashingEmbedder(64), fast_embedder=HashingEmbedder(32), default_threshold=0.5
    )
    decision = router(RouteContext("zzz unrelated words", ("a", "b")))
    assert decision.chosen is None
    assert decision.reason.startswith("full path")
