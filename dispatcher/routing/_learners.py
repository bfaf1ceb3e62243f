"""Small numpy learners for the predictive router: soft-label logistic regression and kNN.

Soft labels: targets anywhere in [0, 1] (a model's normalised quality on a query), so
binary outcomes and graded judge scores train the same way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["LogisticSolver", "fit_logistic", "nearest", "predict_logistic", "sigmoid"]

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


def sigmoid(z: Floats) -> Floats:
    out: Floats = 0.5 * (1.0 + np.tanh(0.5 * z))  # tanh form never overflows
    return out


class LogisticSolver:
    """L2-regularised logistic regression (bias unpenalised) for many fits on one design.

    Uses Böhning's bound (the Hessian is at most X'X/4): each fit inverts one fixed matrix
    and then only multiplies vectors, so the costly Gram matrix X'X is built once and
    shared by every target, penalty and cross-validation subset (the Gram of a subset is
    the full Gram minus that of the rows left out).
    """

    def __init__(self, x: Floats) -> None:
        self.x = np.hstack([x, np.ones((x.shape[0], 1))])
        self.gram = self.x.T @ self.x

    def fit(
        self,
        y: Floats,
        *,
        l2: float,
        rows: Ints | None = None,
        left_out: Ints | None = None,
        max_iter: int = 300,
        tol: float = 1e-5,
        start: Floats | None = None,
    ) -> Floats:
        """Coefficients (bias last) fitted on `rows` (all rows if None); pass the complement
        as `left_out` when it is the smaller set, to reuse the Gram matrix cheaply."""
        x = self.x if rows is None else self.x[rows]
        target = y if rows is None else y[rows]
        gram = self.gram
        if left_out is not None and len(left_out):
            held = self.x[left_out]
            gram = gram - held.T @ held
        elif rows is not None:
            gram = x.T @ x
        d = x.shape[1]
        penalty = np.full(d, float(l2))
        penalty[-1] = 1e-9
        bound_inverse = np.linalg.inv(0.25 * gram + np.diag(penalty))
        if start is not None:  # e.g. the same target's fit with a nearby penalty: fewer steps
            theta = start.copy()
        else:
            theta = np.zeros(d)
            mean = float(np.clip(target.mean(), 1e-3, 1 - 1e-3))
            theta[-1] = np.log(mean / (1.0 - mean))
        for _ in range(max_iter):
            gradient = x.T @ (sigmoid(x @ theta) - target) + penalty * theta
            step = bound_inverse @ gradient
            theta -= step
            if float(np.max(np.abs(step))) < tol:
                break
        return theta


def fit_logistic(x: Floats, y: Floats, *, l2: float) -> Floats:
    """One L2-regularised logistic fit; coefficients with the bias last."""
    return LogisticSolver(x).fit(y, l2=l2)


def predict_logistic(theta: Floats, x: Floats) -> Floats:
    return sigmoid(x @ theta[:-1] + theta[-1])


def nearest(
    queries: NDArray[np.float32],
    keys: NDArray[np.float32],
    k: int,
    *,
    chunk: int = 1024,
    exclude: Ints | None = None,
) -> tuple[Ints, NDArray[np.float32]]:
    """Indices and cosine similarities of each query's k nearest keys, most similar first
    (rows are unit vectors). `exclude[i]`, when not negative, is a key query i may not match
    (itself, when the queries are the keys)."""
    k = max(1, min(k, keys.shape[0] - (0 if exclude is None else 1)))
    index = np.zeros((queries.shape[0], k), dtype=np.intp)
    similarity = np.zeros((queries.shape[0], k), dtype=np.float32)
    for start in range(0, queries.shape[0], chunk):
        sims = queries[start : start + chunk] @ keys.T
        if exclude is not None:
            own = exclude[start : start + chunk]
            rows = np.flatnonzero(own >= 0)
            sims[rows, own[rows]] = -np.inf
        if k < keys.shape[0]:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(keys.shape[0]), sims.shape)
        top_sims = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        index[start : start + chunk] = np.take_along_axis(top, order, axis=1)
        similarity[start : start + chunk] = np.take_along_axis(top_sims, order, axis=1)
    return index, similarity
