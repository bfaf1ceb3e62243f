"""The semantic router's fast path: when a cheap embedding's verdict can be trusted.

Route similarities under the fast embedding are mapped onto the full embedding's scale by
one linear fit (``full ~ slope * fast + intercept``), so the route thresholds apply to both.
A fast verdict's clearance is how far the best route is over its threshold and over the
runner-up (the smaller of the two), or, for "unsure", how far every route is below its own.

The margin that counts as clear is fitted on leave-one-out decisions of the example
utterances (each example against the routes with itself removed), plus any labelled prompts
given to `fit_thresholds`: it is the smallest clearance such that the fast and full
decisions of the fitting rows cleared by it agree at least `agreement` of the time, counting
one extra disagreement so that a handful of lucky rows cannot open the fast path (at 0.95,
19 agreeing rows are the fewest that can). When all rows together reach it, the margin is 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "MIN_FIT_EXAMPLES",
    "FastPath",
    "clearance",
    "decide",
    "fit_fast_path",
    "leave_one_out",
    "top_k_mean",
]

# Fewer fitting rows than this give a margin that is a guess; the fast path then stays off.
MIN_FIT_EXAMPLES = 8
Matrix = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FastPath:
    """The fitted map from fast to full similarities and the clearance that counts as clear.

    `margin` is infinite when no clearance reached the agreement asked for (every prompt
    then takes the full path); `agreement` is what the fitting rows cleared by it reached.
    """

    slope: float
    intercept: float
    margin: float
    agreement: float
    cleared: float  # share of fitting rows the fast path would have decided
    rows: int

    def predict(self, fast: Mapping[str, float]) -> dict[str, float]:
        """Fast similarities on the full embedding's scale."""
        return {r: self.slope * s + self.intercept for r, s in fast.items()}


def top_k_mean(cosines: NDArray[np.floating], k: int) -> Matrix:
    """Mean of each row's k largest values."""
    k = min(k, cosines.shape[1])
    top = np.partition(cosines, cosines.shape[1] - k, axis=1)[:, -k:]
    out: Matrix = top.mean(axis=1).astype(np.float64)
    return out


def leave_one_out(matrices: Sequence[NDArray[np.float32]], top_k: int) -> Matrix:
    """Similarity of every example to every route with its own row left out, shape
    (n_examples, n_routes); -inf where undefined (a route's only example vs that route)."""
    examples = np.concatenate(list(matrices))
    owner = np.concatenate([np.full(len(m), i) for i, m in enumerate(matrices)])
    sims = np.full((len(examples), len(matrices)), -np.inf, dtype=np.float64)
    for route, matrix in enumerate(matrices):
        cosines = (examples @ matrix.T).astype(np.float64)
        others = owner != route
        if others.any():
            sims[others, route] = top_k_mean(cosines[others], top_k)
        own = np.flatnonzero(~others)
        if len(matrix) < 2:
            continue
        mine = cosines[own]
        mine[np.arange(len(own)), np.arange(len(own))] = -np.inf  # drop self-similarity
        sims[own, route] = top_k_mean(mine, min(top_k, len(matrix) - 1))
    return sims


def decide(sims: Matrix, thresholds: NDArray[np.float64]) -> NDArray[np.intp]:
    """The router's rule per row: index of the best route, or -1 when below its threshold."""
    best = sims.argmax(axis=1)
    above = sims[np.arange(len(sims)), best] >= thresholds[best]
    return np.where(above, best, -1)


def clearance(sims: Matrix, thresholds: NDArray[np.float64]) -> Matrix:
    """Per row: how far the decision is from changing (see the module docstring)."""
    rows = np.arange(len(sims))
    best = sims.argmax(axis=1)
    over = sims[rows, best] - thresholds[best]
    if sims.shape[1] > 1:
        gap = over + thresholds[best] - np.sort(sims, axis=1)[:, -2]
    else:
        gap = np.full(len(sims), np.inf)
    under = -(sims - thresholds).max(axis=1)
    out: Matrix = np.where(over >= 0, np.minimum(over, gap), under)
    return out


def fit_fast_path(
    fast: Matrix, full: Matrix, thresholds: NDArray[np.float64], agreement: float
) -> FastPath | None:
    """Fit the map and the margin from fitting rows; None with too few rows to trust them."""
    defined = np.isfinite(fast) & np.isfinite(full)
    if len(fast) < MIN_FIT_EXAMPLES or defined.sum() < 2:
        return None
    x, y = fast[defined], full[defined]
    if float(np.ptp(x)) < 1e-6:
        # Every row looks alike to the fast embedding: no line can be fitted (least squares
        # would give a constant), and rows that all agree say nothing about other prompts.
        return FastPath(0.0, float(y.mean()), np.inf, 1.0, 0.0, len(fast))
    design = np.stack([x, np.ones_like(x)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)
    predicted = slope * fast + intercept  # -inf stays -inf for a positive slope
    if slope <= 0:
        return FastPath(float(slope), float(intercept), np.inf, 1.0, 0.0, len(fast))
    same = decide(predicted, thresholds) == decide(full, thresholds)
    clear = clearance(predicted, thresholds)
    order = np.argsort(-clear, kind="stable")
    agreeing = np.cumsum(same[order])
    # Agreement among the k clearest rows, with one pretend disagreement added.
    rate = agreeing / (np.arange(1, len(order) + 1) + 1.0)
    ok = np.flatnonzero(rate >= agreement)
    if not len(ok):
        return FastPath(float(slope), float(intercept), np.inf, 1.0, 0.0, len(fast))
    k = int(ok[-1])
    # When every row is cleared there is no evidence against any clearance: margin 0.
    margin = 0.0 if k == len(order) - 1 else max(0.0, float(clear[order[k]]))
    return FastPath(
        float(slope),
        float(intercept),
        margin,
        float(agreeing[k] / (k + 1)),
        float((k + 1) / len(fast)),
        len(fast),
    )
