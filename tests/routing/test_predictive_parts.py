"""The predictive router's parts: logistic solver, neighbours, blend, inner-CV search."""

from __future__ import annotations

import numpy as np
import pytest
from routing_data import synthetic_records

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.preferences import PreferenceDataset
from dispatcher.routing._blend import Blend, gain_area
from dispatcher.routing._learners import LogisticSolver, nearest
from dispatcher.routing.predictive import PredictiveRouter


def test_subset_fit_reusing_the_gram_matrix_equals_a_direct_fit() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    y = (x[:, 0] + rng.normal(size=300) > 0).astype(float)
    solver = LogisticSolver(x)
    rows, held = np.arange(200), np.arange(200, 300)
    reused = solver.fit(y, l2=1.0, rows=rows, left_out=held)
    direct = LogisticSolver(x[rows]).fit(y[rows], l2=1.0)
    assert reused == pytest.approx(direct, abs=1e-4)
    assert reused[0] > 0.5  # learned the signal


def test_nearest_returns_most_similar_first() -> None:
    keys = np.eye(4, dtype=np.float32)
    query = np.asarray([[0.8, 0.6, 0.0, 0.0]], dtype=np.float32)
    index, similarity = nearest(query, keys, 3)
    assert list(index[0][:2]) == [0, 1]
    assert similarity[0][0] >= similarity[0][1] >= similarity[0][2]


def test_near_duplicates_pull_the_estimate_towards_their_gain() -> None:
    index = np.asarray([[0, 1]])
    similarity = np.asarray([[0.995, 0.5]], dtype=np.float32)
    gains = np.asarray([1.0, -1.0])
    strong, weak = np.asarray([0.5]), np.asarray([0.5])
    plain = Blend(knn_k=1, coef=(1, -1, 0, 0, 0, 0, 0, 0, 0))
    updated = Blend(knn_k=1, coef=plain.coef, near_similarity=0.99, near_weight=1.0)
    assert plain.combine(strong, weak, index, similarity, gains)[0] == pytest.approx(0.0)
    assert updated.combine(strong, weak, index, similarity, gains)[0] == pytest.approx(0.5)


def test_gain_area_prefers_the_right_ranking() -> None:
    gain = np.asarray([1.0, 0.0, -1.0])
    assert gain_area(gain, gain) > gain_area(-gain, gain)


def test_inner_search_picks_knobs_and_ranks_held_out_prompts() -> None:
    data = PreferenceDataset(tuple(synthetic_records(1400, groups=False)))
    train, test = data.subset(np.arange(1100)), data.subset(np.arange(1100, 1400))
    router = PredictiveRouter.fit(train, "strong", "weak", HashingEmbedder(dim=64))
    chosen = router.model.info["selected"]
    assert chosen["inner_gain_area"] is not None and chosen["knn_k"] >= 1
    scores = np.asarray(router.scores([r.prompt for r in test.records]))
    gains = np.asarray([r.scores["strong"] - r.scores["weak"] for r in test.records])
    assert gain_area(scores, gains) > gain_area(np.zeros_like(gains), gains) + 0.02
