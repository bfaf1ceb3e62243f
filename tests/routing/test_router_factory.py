"""build_router: every router type from a config mapping; bad config says how to fix it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.errors import ConfigError
from dispatcher.preferences import PreferenceDataset
from dispatcher.routing import RouteContext, build_router
from dispatcher.routing._factory import check_router_config
from dispatcher.routing.bandit import LinUCBRouter
from dispatcher.routing.predictive import PredictiveRouter
from dispatcher.routing.semantic import SemanticRouter

CONTEXT = RouteContext("solve the polynomial equation", ("strong", "weak"))


def test_predictive_from_config_resolves_relative_paths(
    tmp_path: Path, dataset: PreferenceDataset, embedder: HashingEmbedder
) -> None:
    PredictiveRouter.fit(dataset, "strong", "weak", embedder).save(tmp_path / "m.npz")
    router = build_router(
        {"type": "predictive", "model_path": "m.npz", "threshold": 0.42, "embedder": "hashing:128"},
        base_dir=tmp_path,
    )
    decision = router(CONTEXT)
    assert decision.router == "predictive" and decision.threshold == 0.42
    assert decision.chosen in ("strong", "weak")


def test_semantic_bandit_cascade_random_length(tmp_path: Path) -> None:
    semantic = build_router(
        {
            "type": "semantic",
            "routes": {"math": ["solve equation"], "chat": ["hello"]},
            "embedder": "hashing:64",
            "thresholds": {"math": 0.1},
        }
    )
    assert isinstance(semantic, SemanticRouter) and semantic.thresholds["math"] == 0.1
    assert semantic(RouteContext("solve this equation", ("math", "chat"))).chosen == "math"
    bandit = build_router({"type": "bandit", "state_path": str(tmp_path / "b.json"), "alpha": 0.5})
    assert isinstance(bandit, LinUCBRouter) and bandit.arms == ("strong", "weak")
    assert build_router({"type": "cascade"})(CONTEXT).chosen == "weak"
    assert build_router({"type": "random", "seed": 3})(CONTEXT).chosen in ("strong", "weak")
    length = build_router({"type": "length", "threshold": 10, "strong": "big", "weak": "small"})
    assert length(RouteContext("a long enough prompt", ("big", "small"))).chosen == "big"
    unsure = build_router({"type": "length", "threshold": 10, "margin": 5})
    decision = unsure(RouteContext("12 chars ...", ("strong", "weak")))
    assert decision.chosen is None and decision.reason.startswith("unsure")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "magic"}, "unknown router type 'magic'"),
        ({}, "unknown router type None"),
        ({"type": "predictive"}, "needs 'model_path'"),
        ({"type": "length", "treshold": 3}, "unknown key\\(s\\) for a length router: treshold"),
        ({"type": "length", "threshold": "high"}, "threshold must be a number"),
        ({"type": "random", "strong": "x", "weak": "x"}, "two different route names"),
        ({"type": "semantic", "routes": ["a"]}, "'routes' must map each route name"),
        ({"type": "bandit", "arms": []}, "'arms' must be a non-empty list"),
        ({"type": "predictive", "model_path": "/nonexistent/m.npz"}, "not found"),
    ],
)
def test_bad_config_raises_config_error_with_fix(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        build_router(config)
    assert "dispatcher.router" in str(caught.value) or "fix:" in str(caught.value)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"type": "length", "threshold": NAN}, "threshold"),
        ({"type": "length", "threshold": INF}, "threshold"),
        ({"type": "length", "margin": NAN}, "margin"),
        ({"type": "random", "seed": INF}, "seed"),
        ({"type": "random", "seed": NAN}, "seed"),
        ({"type": "random", "seed": 1.5}, "seed"),
        ({"type": "semantic", "routes": {"a": ["x"]}, "top_k": INF}, "top_k"),
        ({"type": "semantic", "routes": {"a": ["x"]}, "top_k": NAN}, "top_k"),
        ({"type": "semantic", "routes": {"a": ["x"]}, "top_k": 0}, "top_k"),
        (
            {"type": "semantic", "routes": {"a": ["x"]}, "default_threshold": NAN},
            "default_threshold",
        ),
        ({"type": "semantic", "routes": {"a": ["x"]}, "thresholds": {"a": NAN}}, "thresholds.a"),
        ({"type": "bandit", "alpha": NAN}, "alpha"),
        ({"type": "bandit", "alpha": INF}, "alpha"),
        ({"type": "bandit", "ridge": NAN}, "ridge"),
        ({"type": "bandit", "ridge": INF}, "ridge"),
        ({"type": "bandit", "cost_weight": NAN}, "cost_weight"),
        ({"type": "bandit", "projection": NAN, "embedder": "hashing:16"}, "projection"),
        ({"type": "bandit", "projection": -3, "embedder": "hashing:16"}, "projection"),
        ({"type": "bandit", "projection": 2.5, "embedder": "hashing:16"}, "projection"),
    ],
)
def test_numbers_that_are_not_finite_or_not_whole_are_config_errors(
    config: dict[str, Any], field: str
) -> None:
    # NaN/inf thresholds routed silently to one side; NaN/inf counts crashed in int().
    with pytest.raises(ConfigError) as caught:
        check_router_config(config)
    assert caught.value.field == field
    assert caught.value.fix
    with pytest.raises(ConfigError):
        build_router(config)


@pytest.mark.parametrize("kind", [["semantic"], {"a": 1}])
def test_a_router_type_that_is_not_a_name_is_a_config_error(kind: object) -> None:
    with pytest.raises(ConfigError, match="unknown router type"):
        check_router_config({"type": kind})
