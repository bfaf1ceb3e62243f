"""Semantic routing: nearest route by example similarity, unsure below the fitted threshold."""

from __future__ import annotations

import pytest

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.errors import ConfigError
from dispatcher.routing.base import RouteContext
from dispatcher.routing.semantic import SemanticRouter

ROUTES = {
    "sql_analyst": [
        "which genres sold the most tracks",
        "total sales per country in 2012",
        "list the top customers by revenue",
    ],
    "coder": [
        "fix the failing unit test in parser.py",
        "refactor this python function",
        "why does my code raise a KeyError",
    ],
}


@pytest.fixture
def router(embedder: HashingEmbedder) -> SemanticRouter:
    return SemanticRouter(ROUTES, embedder, default_threshold=0.2, top_k=1)


def test_routes_to_the_closest_examples(router: SemanticRouter) -> None:
    decision = router(RouteContext("list the top 5 customers by revenue", ("sql_analyst", "coder")))
    assert decision.chosen == "sql_analyst"
    assert decision.score is not None and decision.score >= 0.2
    assert decision.threshold == 0.2 and "sql_analyst" in decision.reason


def test_unrelated_prompt_is_unsure(router: SemanticRouter) -> None:
    decision = router(RouteContext("zebra quantum banjo", ("sql_analyst", "coder")))
    assert decision.chosen is None and decision.reason.startswith("unsure")


def test_only_candidates_are_chosen(router: SemanticRouter) -> None:
    decision = router(RouteContext("list the top customers by revenue", ("coder",)))
    assert decision.chosen in (None, "coder")


def test_fitted_thresholds_separate_in_and_out_of_route(embedder: HashingEmbedder) -> None:
    router = SemanticRouter(ROUTES, embedder, default_threshold=0.0, top_k=1)
    examples: list[tuple[str, str | None]] = [
        ("which genres sold the most tracks in 2013", "sql_analyst"),
        ("total sales per country", "sql_analyst"),
        ("list the top customers", "sql_analyst"),
        ("fix the failing test", "coder"),
        ("refactor this function", "coder"),
        ("what is the weather in paris", None),
        ("tell me a joke about cats", None),
        ("sing a song", None),
    ]
    fitted = router.fit_thresholds(examples)
    assert set(fitted) == {"sql_analyst", "coder"}
    for prompt, label in examples:
        assert router(RouteContext(prompt, ("sql_analyst", "coder"))).chosen == label


def test_bad_configuration_is_rejected(embedder: HashingEmbedder) -> None:
    with pytest.raises(ConfigError, match="at least one example"):
        SemanticRouter({"a": []}, embedder)
    with pytest.raises(ConfigError, match="unknown routes: b"):
        SemanticRouter({"a": ["x"]}, embedder, thresholds={"b": 0.3})
    with pytest.raises(ConfigError, match="unknown routes: zzz"):
        SemanticRouter({"a": ["x"]}, embedder).fit_thresholds([("p", "zzz")])
