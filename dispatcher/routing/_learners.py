"""Small numpy learners for the predictive router: soft-label logistic regression and kNN.

Soft labels: the target is the strong model's win rate on a query, in [0, 1] (ties count
half), so binary outcomes and graded judge scores train the same way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["fit_logistic", "knn_mean", "predict_logistic", "sigmoid"]

Floats = NDArray[np.float64]


def sigmoid(z: Floats) -> Floats:
    out: Floats = 0.5 * (1.0 + np.tanh(0.5 * z))  # tanh form never overflows
    return out


def fit_logistic(
    x: Floats,
    y: Floats,
    *,
    l2: float,
    weights: Floats | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
) -> Floats:
    """L2-regularised logistic regression (bias unpenalised) by Newton's method.

    Accepts targets anywhere in [0, 1]. Returns coefficients with the bias last.
    """
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    sample = np.ones(n) if weights is None else weights
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    theta = np.zeros(d + 1)
    mean = float(np.clip(np.average(y, weights=sample), 1e-3, 1 - 1e-3))
    theta[-1] = np.log(mean / (1.0 - mean))
    for _ in range(max_iter):
        p = sigmoid(xb @ theta)
        gradient = xb.T @ (sample * (p - y)) + penalty * theta
        curvature = sample * np.maximum(p * (1.0 - p), 1e-6)
        hessian = (xb * curvature[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.max(np.abs(step))) < tol:
            break
    return theta


def predict_logistic(theta: Floats, x: Floats) -> Floats:
    return sigmoid(x @ theta[:-1] + theta[-1])


def knn_mean(
    queries: NDArray[np.float32],
    keys: NDArray[np.float32],
    targets: Floats,
    k: int,
    *,
    chunk: int = 1024,
) -> Floats:
    """Mean target of each query's k most cosine-similar keys (rows are unit vectors)."""
    k = max(1, min(k, keys.shape[0]))
    out = np.zeros(queries.shape[0])
    for start in range(0, queries.shape[0], chunk):
        sims = queries[start : start + chunk] @ keys.T
        if k < keys.shape[0]:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(keys.shape[0]), sims.shape)
        out[start : start + chunk] = targets[top].mean(axis=1)
    return out
