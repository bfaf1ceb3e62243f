"""Router quality metrics as RouteLLM's evaluation harness computes them.

A router is judged by its scores on an evaluation set (higher = more in need of the
strong model). The sweep uses the 0, 10, ..., 100 % quantiles of those scores as
thresholds (``score >= t``, and ``score > t`` at the top so the last point has no strong
calls), giving 11 points of (strong-call share, mean quality). From that curve:

- PGR at a point: ``(Q - Q_W) / (Q_S - Q_W)``; APGR: trapezoid area under the curve over
  [0, 1], minus the weak model's area, over the gap's area (= mean PGR over shares);
- CPT(x): the smallest strong-call share whose PGR reaches x, interpolating linearly
  between swept points (None if the curve never reaches it).

The random baseline averages the 11 points of 10 sweeps over uniform random scores; the
oracle, at strong-call budgets 0, 10, ..., 100 %, sends the queries where the strong model
gains most, and only those where it gains at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dispatcher.errors import DataError

__all__ = [
    "Curve",
    "RouterMetrics",
    "apgr",
    "cpt",
    "metrics_for",
    "oracle_curve",
    "random_curve",
    "sweep",
]

SWEEP_POINTS = 11
RANDOM_REPEATS = 10

Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Curve:
    """Quality against strong-call share, points sorted by share; Q_S and Q_W of the same set."""

    share: Floats
    quality: Floats
    strong_quality: float
    weak_quality: float

    @property
    def pgr(self) -> Floats:
        return (self.quality - self.weak_quality) / self._gap()

    def _gap(self) -> float:
        gap = self.strong_quality - self.weak_quality
        if gap == 0:
            raise DataError(
                "the strong and weak models have the same mean quality on this set, so PGR is "
                "undefined; pick two models whose quality differs"
            )
        return gap


@dataclass(frozen=True, slots=True)
class RouterMetrics:
    """APGR and CPT at 50 % and 80 % PGR (CPT as a share in [0, 1], None if never reached)."""

    apgr: float
    cpt50: float | None
    cpt80: float | None

    def to_json(self) -> dict[str, float | None]:
        return {"apgr": self.apgr, "cpt50": self.cpt50, "cpt80": self.cpt80}


def _outcomes(strong: ArrayLike, weak: ArrayLike) -> tuple[Floats, Floats]:
    s = np.asarray(strong, dtype=np.float64)
    w = np.asarray(weak, dtype=np.float64)
    if s.shape != w.shape or s.ndim != 1 or s.size == 0:
        raise DataError("strong and weak outcomes must be equal-length, non-empty sequences")
    return s, w


def _curve(share: Sequence[float], quality: Sequence[float], s: Floats, w: Floats) -> Curve:
    order = np.argsort(np.asarray(share), kind="stable")
    return Curve(
        share=np.asarray(share, dtype=np.float64)[order],
        quality=np.asarray(quality, dtype=np.float64)[order],
        strong_quality=float(s.mean()),
        weak_quality=float(w.mean()),
    )


def _sweep_points(scores: Floats, s: Floats, w: Floats) -> tuple[list[float], list[float]]:
    thresholds = np.quantile(scores, np.linspace(0.0, 1.0, SWEEP_POINTS))
    shares, qualities = [], []
    for i, threshold in enumerate(thresholds):
        strong = scores > threshold if i == SWEEP_POINTS - 1 else scores >= threshold
        shares.append(float(strong.mean()))
        qualities.append(float(np.where(strong, s, w).mean()))
    return shares, qualities


def sweep(scores: ArrayLike, strong: ArrayLike, weak: ArrayLike) -> Curve:
    """The 11-point quantile-threshold sweep of a router's scores."""
    s, w = _outcomes(strong, weak)
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != s.shape:
        raise DataError(f"expected {s.size} scores, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise DataError("router scores must be finite numbers")
    return _curve(*_sweep_points(values, s, w), s, w)


def random_curve(
    strong: ArrayLike, weak: ArrayLike, *, repeats: int = RANDOM_REPEATS, seed: int = 0
) -> Curve:
    """Uniform random scores, swept `repeats` times, the points averaged."""
    s, w = _outcomes(strong, weak)
    rng = np.random.default_rng(seed)
    shares = np.zeros(SWEEP_POINTS)
    qualities = np.zeros(SWEEP_POINTS)
    for _ in range(repeats):
        share, quality = _sweep_points(rng.random(s.size), s, w)
        shares += np.asarray(share)
        qualities += np.asarray(quality)
    return _curve(list(shares / repeats), list(qualities / repeats), s, w)


def oracle_curve(strong: ArrayLike, weak: ArrayLike) -> Curve:
    """Hindsight routing at budgets 0, 10, ..., 100 % of queries: best positive gains first."""
    s, w = _outcomes(strong, weak)
    gains = np.sort(np.clip(s - w, 0.0, None))[::-1]
    cumulative = np.concatenate([[0.0], np.cumsum(gains)])
    n = s.size
    budgets = np.linspace(0.0, 1.0, SWEEP_POINTS)
    # The optimal line is continuous in the budget (RouteLLM's "optimal" plot line).
    gained = np.interp(budgets * n, np.arange(n + 1, dtype=np.float64), cumulative)
    quality = [float(w.mean() + g / n) for g in gained]
    return _curve(list(budgets), quality, s, w)


def apgr(curve: Curve) -> float:
    """Area under PGR over strong-call share [0, 1] by the trapezoid rule."""
    pgr = curve.pgr
    widths = np.diff(curve.share)
    return float(np.sum(widths * (pgr[1:] + pgr[:-1]) / 2.0))


def cpt(curve: Curve, target_pgr: float) -> float | None:
    """Smallest strong-call share at which PGR reaches `target_pgr` (linear interpolation)."""
    pgr = curve.pgr
    share = curve.share
    if pgr[0] >= target_pgr:
        return float(share[0])
    for i in range(1, len(pgr)):
        if pgr[i] >= target_pgr:
            low, high = pgr[i - 1], pgr[i]
            fraction = (target_pgr - low) / (high - low)
            return float(share[i - 1] + fraction * (share[i] - share[i - 1]))
    return None


def metrics_for(curve: Curve) -> RouterMetrics:
    return RouterMetrics(apgr=apgr(curve), cpt50=cpt(curve, 0.5), cpt80=cpt(curve, 0.8))
