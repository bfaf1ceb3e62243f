"""Fit the predictive router's parts and pick their knobs by inner cross-validation.

Only the training rows are used: they are split again at random (by row, even when the
dataset has groups: with a few dozen groups, group-wise inner folds gave wildly unstable
knobs and cost 0.16 APGR on MMLU grouped by subject), every candidate is scored on the
inner held-out rows, and the winner is refitted on all training rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dispatcher._blas import blas_threads
from dispatcher.routing._blend import KNN_SIZES, Blend, choose_blend
from dispatcher.routing._learners import LogisticSolver, nearest, sigmoid

__all__ = ["EMBEDDING_SCALE", "WinRateFit", "design", "fit_win_rate"]

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]

INNER_FOLDS = 5
# L2 penalties per training row: the loss is a sum over rows, so a fixed penalty would
# mean weak regularisation on big datasets and crushing it on small ones.
PENALTIES = (0.04, 0.16, 0.64)
DEFAULT_PENALTY = 0.04
# Embedding columns are scaled up so they are penalised this squared factor less than the
# standardised text features: 384 small coordinates against 25 unit-variance ones.
EMBEDDING_SCALE = 5.0
MIN_SEARCH_ROWS = 1000  # fewer: inner folds too small to tell knobs apart (measured)


@dataclass(frozen=True, slots=True)
class WinRateFit:
    """Fitted parameters: standardisation, the strong/weak logistic pair, and the blend."""

    feature_mean: Floats
    feature_scale: Floats
    theta: Floats  # shape (2, d + 1): P(strong good), P(weak good); bias last
    blend: Blend
    penalty: float
    inner_gain_area: float | None


def design(
    embeddings: NDArray[np.float32], features: Floats, mean: Floats, scale: Floats
) -> Floats:
    """The logistic models' inputs: scaled embedding next to standardised text features."""
    z = (features - mean) / scale
    return np.hstack([embeddings.astype(np.float64) * EMBEDDING_SCALE, z])


def fit_win_rate(
    embeddings: NDArray[np.float32],
    features: Floats,
    strong: Floats,
    weak: Floats,
    *,
    seed: int = 0,
) -> WinRateFit:
    """Fit on normalised qualities `strong`, `weak` (in [0, 1]) of each training prompt."""
    with blas_threads(1):  # small matrices: BLAS threads only spin (5x slower when busy)
        return _fit(embeddings, features, strong, weak, seed)


def _fit(
    embeddings: NDArray[np.float32], features: Floats, strong: Floats, weak: Floats, seed: int
) -> WinRateFit:
    n = len(strong)
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    solver = LogisticSolver(design(embeddings, features, mean, scale))
    penalty, blend, area = DEFAULT_PENALTY, Blend(knn_k=min(50, n)), None
    if n >= MIN_SEARCH_ROWS:
        penalty, blend, area = _search(solver, embeddings, strong, weak, seed)
    thetas = [solver.fit(target, l2=penalty * n) for target in (strong, weak)]
    return WinRateFit(mean, scale, np.vstack(thetas), blend, penalty, area)


def _search(
    solver: LogisticSolver,
    embeddings: NDArray[np.float32],
    strong: Floats,
    weak: Floats,
    seed: int,
) -> tuple[float, Blend, float]:
    n = len(strong)
    folds = _inner_folds(n, seed)
    smallest_train = min(int(np.sum(folds != f)) for f in range(INNER_FOLDS))
    width = min(max(KNN_SIZES), smallest_train)
    linear = {p: (np.zeros(n), np.zeros(n)) for p in PENALTIES}
    index = np.zeros((n, width), dtype=np.intp)
    similarity = np.zeros((n, width), dtype=np.float32)
    for fold in range(INNER_FOLDS):
        test = np.flatnonzero(folds == fold)
        train = np.flatnonzero(folds != fold)
        x = solver.x[test]
        starts: list[Floats | None] = [None, None]
        for p in sorted(PENALTIES, reverse=True):
            # Strongest penalty first (it converges fastest); each weaker one starts from the
            # previous solution: the same minimum, moved a little.
            fit = [
                solver.fit(t, l2=p * len(train), rows=train, left_out=test, start=s)
                for t, s in zip((strong, weak), starts, strict=True)
            ]
            starts = list(fit)
            linear[p][0][test] = sigmoid(x @ fit[0])
            linear[p][1][test] = sigmoid(x @ fit[1])
        near, sims = nearest(embeddings[test], embeddings[train], width)
        index[test] = train[near]
        similarity[test] = sims
    return choose_blend(linear, index, similarity, strong - weak, folds)


def _inner_folds(n: int, seed: int) -> Ints:
    """Fold per row, from a seeded shuffle."""
    order = np.random.default_rng(seed).permutation(n)
    folds = np.zeros(n, dtype=np.intp)
    folds[order] = np.arange(n) % INNER_FOLDS
    return folds
