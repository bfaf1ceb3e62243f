"""How the predictive router combines its parts, and the search that picks the combination.

Its estimates of a prompt's gain (the strong model's quality minus the weak one's, in
[-1, 1]) are:

1. linear: P(strong good) and P(weak good), two logistic regressions on the prompt;
2. kNN: the mean gain of the k nearest training prompts;
3. near-duplicates: training prompts at least `near_similarity` alike (the same passage
   or template) are direct evidence, so they update the combination of 1 and 2 like
   observations update a prior worth `near_weight` of them.

1 and 2 are combined by a small ridge regression on their values, squares and products
(the gain is not monotone in either model's success: prompts both models solve, or
neither, gain nothing), fitted to inner out-of-fold estimates. Every knob is chosen per
dataset by maximising `gain_area` on those estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "KNN_SIZES",
    "NEAR_NEIGHBOURS",
    "Blend",
    "choose_blend",
    "gain_area",
    "meta_features",
    "meta_terms",
]

Floats = NDArray[np.float64]
T = TypeVar("T", float, Floats)
Ints = NDArray[np.intp]

KNN_SIZES = (10, 25, 50, 100, 200, 400)
NEAR_SIMILARITIES = (0.99, 0.97, 0.95, 0.93, 0.9)
NEAR_WEIGHTS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
# Near-duplicates are looked for among this many neighbours: more of them than this
# would not move a mean that is already backed by so many.
NEAR_NEIGHBOURS = 32
OFF = 2.0  # a cosine similarity no neighbour reaches: near-duplicate evidence unused
META_RIDGE = 1e-7  # per row; only keeps the regression solvable when a column is constant
# Which meta-model inputs are used: the three estimates alone, or with squares and products.
META_COLUMNS = (
    np.asarray([1, 1, 1, 0, 0, 0, 0, 0, 1], dtype=np.float64),
    np.ones(9),
)
# ps - pw and the kNN mean, half and half: used when there is too little data to search.
DEFAULT_COEF = (0.5, -0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def meta_terms(strong: T, weak: T, knn: T, one: T) -> tuple[T, ...]:
    """The meta-model's inputs (the three estimates, their squares and products, a bias),
    for arrays of queries or, in the one-prompt scorer, for plain floats."""
    return (
        strong,
        weak,
        knn,
        strong * strong,
        weak * weak,
        strong * weak,
        knn * weak,
        knn * knn,
        one,
    )


def meta_features(strong: Floats, weak: Floats, knn: Floats) -> Floats:
    """`meta_terms` of many queries, one row each."""
    return np.column_stack(meta_terms(strong, weak, knn, np.ones_like(strong)))


@dataclass(frozen=True, slots=True)
class Blend:
    """The chosen combination; `neighbours` is how many nearest prompts it reads."""

    knn_k: int
    coef: tuple[float, ...] = DEFAULT_COEF
    near_similarity: float = OFF
    near_weight: float = 1.0

    @property
    def neighbours(self) -> int:
        near = NEAR_NEIGHBOURS if self.near_similarity <= 1.0 else 0
        return max(self.knn_k, near)

    def combine(
        self,
        strong: Floats,
        weak: Floats,
        index: Ints,
        similarity: NDArray[np.float32],
        gains: Floats,
    ) -> Floats:
        """Gain per query from the linear estimates and its sorted neighbours."""
        knn = gains[index[:, : self.knn_k]].mean(axis=1) if index.shape[1] else 0.0 * strong
        base: Floats = meta_features(strong, weak, knn) @ np.asarray(self.coef)
        if self.near_similarity > 1.0 or not index.shape[1]:
            return base
        close = similarity[:, :NEAR_NEIGHBOURS] >= self.near_similarity
        count = close.sum(axis=1)
        total = (gains[index[:, :NEAR_NEIGHBOURS]] * close).sum(axis=1)
        out: Floats = (total + self.near_weight * base) / (count + self.near_weight)
        return out


def gain_area(score: Floats, gain: Floats) -> float:
    """Mean gain captured when the top-scored share of queries goes to the strong model,
    averaged over every share: APGR up to a constant, without thresholds or quantiles."""
    order = np.argsort(-score, kind="stable")
    return float(np.cumsum(gain[order]).mean() / len(gain))


def choose_blend(
    linear: Mapping[float, tuple[Floats, Floats]],
    index: Ints,
    similarity: NDArray[np.float32],
    gains: Floats,
    folds: Ints,
) -> tuple[float, Blend, float]:
    """The penalty (key of `linear`) and blend with the best inner out-of-fold gain area.

    `linear` holds out-of-fold (P(strong good), P(weak good)) per penalty; `index` and
    `similarity` each query's sorted neighbours among the prompts it was not fitted with
    (indices into `gains`, the per-query gains, which are also the truth). The meta-model
    is itself cross-fitted over `folds` when candidates are compared, so a richer one wins
    only if it ranks held-out rows better. Knobs are searched in two steps (penalty, k and
    meta-model first, then the near-duplicate update).
    """
    best: tuple[float, float, int, Floats] = (-np.inf, 0.0, 0, META_COLUMNS[0])
    for penalty, (strong, weak) in linear.items():
        for k in _knn_sizes(index.shape[1]):
            knn = gains[index[:, :k]].mean(axis=1) if k else 0.0 * strong
            x = meta_features(strong, weak, knn)
            for columns in META_COLUMNS:
                area = gain_area(_cross_fitted(x, gains, folds, columns), gains)
                if area > best[0]:
                    best = (area, penalty, k, columns)
    _, penalty, k, columns = best
    strong, weak = linear[penalty]
    knn = gains[index[:, :k]].mean(axis=1) if k else 0.0 * strong
    chosen = Blend(knn_k=k, coef=_ridge(meta_features(strong, weak, knn), gains, columns))
    area = gain_area(chosen.combine(strong, weak, index, similarity, gains), gains)
    for blend in _near_grid(chosen):
        candidate = gain_area(blend.combine(strong, weak, index, similarity, gains), gains)
        if candidate > area:
            area, chosen = candidate, blend
    return penalty, chosen, area


def _cross_fitted(x: Floats, y: Floats, folds: Ints, columns: Floats) -> Floats:
    out = np.zeros(len(y))
    for fold in np.unique(folds):
        held = folds == fold
        coef = _ridge(x[~held], y[~held], columns)
        out[held] = x[held] @ np.asarray(coef)
    return out


def _ridge(x: Floats, y: Floats, columns: Floats) -> tuple[float, ...]:
    """Least squares on the columns marked 1 in `columns` (the others get coefficient 0)."""
    penalty = np.diag(META_RIDGE * len(y) + (1.0 - columns) * 1e12)
    penalty[-1, -1] = 0.0
    coef = np.linalg.solve(x.T @ x + penalty, x.T @ y)
    return tuple(float(c) * float(m) for c, m in zip(coef, columns, strict=True))


def _knn_sizes(available: int) -> Iterable[int]:
    sizes = [k for k in KNN_SIZES if k <= available]
    return sizes or ([available] if available else [0])


def _near_grid(start: Blend) -> Iterable[Blend]:
    for similarity in NEAR_SIMILARITIES:
        for weight in NEAR_WEIGHTS:
            yield Blend(start.knn_k, start.coef, similarity, weight)
