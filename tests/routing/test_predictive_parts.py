"""The predictive router's parts: logistic solver, neighbours, blend, inner-CV search."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from routing_data import synthetic_records

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.errors import DataError
from dispatcher.preferences import PreferenceDataset
from dispatcher.routing._blend import Blend, gain_area
from dispatcher.routing._features import text_features
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


@pytest.mark.parametrize(
    "blend",
    [
        Blend(knn_k=5),
        Blend(knn_k=3, coef=(0.2, -0.4, 0.6, 0.1, -0.2, 0.3, 0.05, -0.1, 0.01)),
        Blend(knn_k=4, near_similarity=0.3, near_weight=2.0),
        Blend(knn_k=500, near_similarity=0.1, near_weight=0.5),  # more than there are keys
    ],
)
def test_one_prompt_scores_equal_the_batch_scores(blend: Blend) -> None:
    data = PreferenceDataset(tuple(synthetic_records(300, groups=False)))
    router = PredictiveRouter.fit(data, "strong", "weak", HashingEmbedder(dim=32))
    model = dataclasses.replace(router.model, blend=blend)
    prompts = [r.prompt for r in synthetic_records(40, seed=7, groups=False)]
    embeddings = router.embedder.embed(prompts)
    features = text_features(prompts)
    batch = model.predict(embeddings, features)
    single = [model.predict_one(embeddings[i], features[i]) for i in range(len(prompts))]
    assert single == pytest.approx(batch.tolist(), abs=1e-5)
    assert len(set(np.round(single, 4))) > 5  # the scores differ: a constant would also match


def test_training_scores_never_use_the_prompt_itself() -> None:
    # With one neighbour and nothing else, a training prompt scored normally is its own
    # nearest neighbour and gets its own outcome back: thresholds set on such scores do not
    # hold on new prompts (what `dispatcher calibrate` does with them).
    records = synthetic_records(200, groups=False)
    data = PreferenceDataset(tuple(records))
    router = PredictiveRouter.fit(data, "strong", "weak", HashingEmbedder(dim=32))
    router.model = dataclasses.replace(
        router.model, blend=Blend(knn_k=1, coef=(0, 0, 1, 0, 0, 0, 0, 0, 0))
    )
    prompts = [r.prompt for r in records]
    own = np.asarray([0.5 * (1 + r.scores["strong"] - r.scores["weak"]) for r in records])
    assert np.allclose(router.scores(prompts), own)
    held_out = np.asarray(router.training_scores(prompts))
    assert np.mean(np.isclose(held_out, own)) < 0.9
    with pytest.raises(DataError, match="training prompts"):
        router.training_scores(prompts[:10])
