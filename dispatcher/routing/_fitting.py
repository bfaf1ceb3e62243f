"""Train each kind of strong/weak router on a preference dataset (evaluation, calibration)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError
from dispatcher.preferences.dataset import PreferenceDataset
from dispatcher.routing.base import RouteContext, RouteDecision, ScoringRouter
from dispatcher.routing.semantic import SemanticRouter

__all__ = ["TRAINABLE_ROUTERS", "fit_router"]


def _predictive(
    train: PreferenceDataset, strong: str, weak: str, embedder: Embedder, seed: int
) -> ScoringRouter:
    from dispatcher.routing.predictive import PredictiveRouter

    return PredictiveRouter.fit(train, strong, weak, embedder, seed=seed)


class _SemanticScorer:
    """A semantic router over two routes built from training data, used as a ranker:
    score = similarity to prompts the strong model won minus similarity to the others."""

    def __init__(self, router: SemanticRouter) -> None:
        self.router = router
        self.name = router.name

    def __call__(self, context: RouteContext) -> RouteDecision:
        return self.router(context)

    def scores(self, prompts: Sequence[str]) -> list[float]:
        sims = self.router.similarities(prompts)
        return [float(v) for v in sims["strong"] - sims["weak"]]

    def score(self, prompt: str) -> float:
        return self.scores([prompt])[0]


def _semantic(
    train: PreferenceDataset, strong: str, weak: str, embedder: Embedder, seed: int
) -> ScoringRouter:
    won = [r.prompt for r in train.records if r.scores[strong] > r.scores[weak]]
    rest = [r.prompt for r in train.records if r.scores[strong] <= r.scores[weak]]
    if not won or not rest:
        raise ConfigError(
            "the semantic router needs training prompts where the strong model wins and where it "
            "does not",
            fix="use a dataset where the two models differ on some queries",
        )
    router = SemanticRouter({"strong": won, "weak": rest}, embedder, top_k=20)
    return _SemanticScorer(router)


def _bandit(
    train: PreferenceDataset, strong: str, weak: str, embedder: Embedder, seed: int
) -> ScoringRouter:
    from dispatcher.routing.bandit import BanditFeatures, LinUCBRouter, replay

    router = LinUCBRouter(
        ["strong", "weak"], features=BanditFeatures(embedder, projection=16), alpha=0.5
    )
    rewards = {
        "strong": np.asarray([r.scores[strong] for r in train.records]),
        "weak": np.asarray([r.scores[weak] for r in train.records]),
    }
    replay(router, [r.prompt for r in train.records], rewards, seed=seed)
    return router


TRAINABLE_ROUTERS: dict[
    str, Callable[[PreferenceDataset, str, str, Embedder, int], ScoringRouter]
] = {
    "predictive": _predictive,
    "semantic": _semantic,
    "bandit": _bandit,
}


def fit_router(
    name: str,
    train: PreferenceDataset,
    strong: str,
    weak: str,
    embedder: Embedder,
    *,
    seed: int = 0,
) -> ScoringRouter:
    """Train router `name` on `train` for the pair (strong, weak) of dataset model names."""
    try:
        factory = TRAINABLE_ROUTERS[name]
    except KeyError:
        raise ConfigError(
            f"router {name!r} cannot be trained", fix=f"use one of: {', '.join(TRAINABLE_ROUTERS)}"
        ) from None
    return factory(train, strong, weak, embedder, seed)
