"""Turn a budget or a quality target into a router threshold, and write it into a config.

- strong share: "send at most p of queries to the strong model" -> the (1 - p) quantile of
  the router's scores on representative prompts;
- quality share: "reach q of the strong model's quality" -> the highest threshold whose
  routed quality on the preference data is at least q * Q_strong.

Scores should come from prompts the router was not trained on (out-of-fold scores), or the
threshold will be fitted to over-confident training scores.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from dispatcher.errors import ConfigError, DataError

__all__ = [
    "Calibration",
    "summarise",
    "threshold_for_quality_share",
    "threshold_for_strong_share",
    "write_router_config",
]


@dataclass(frozen=True, slots=True)
class Calibration:
    """A fitted threshold and what it achieves on the data it was fitted on."""

    threshold: float
    strong_share: float
    quality: float
    strong_quality: float
    weak_quality: float
    target: str

    @property
    def quality_share(self) -> float:
        return self.quality / self.strong_quality if self.strong_quality else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "threshold": self.threshold,
            "strong_share": round(self.strong_share, 6),
            "quality_share": round(self.quality_share, 6),
        }


def _share_at(values: np.ndarray[Any, Any], threshold: float) -> float:
    return float(np.mean(values >= threshold))


def threshold_for_strong_share(scores: ArrayLike, share: float) -> float:
    """Threshold t so that about `share` of `scores` are >= t."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        raise DataError("no scores to calibrate on")
    if not 0.0 <= share <= 1.0:
        raise ConfigError(f"strong share must be in [0, 1], got {share}", fix="e.g. 0.2 for 20 %")
    if share >= 1.0:
        return float(values.min())
    if share <= 0.0:
        return float(np.nextafter(values.max(), np.inf))
    ordered = np.sort(values)[::-1]
    k = max(round(share * values.size), 1)
    # Midway between the k-th and (k+1)-th highest score: exactly k prompts clear it.
    if k >= values.size:
        return float(ordered[-1])
    return float((ordered[k - 1] + ordered[k]) / 2.0)


def threshold_for_quality_share(
    scores: ArrayLike, strong: ArrayLike, weak: ArrayLike, share: float
) -> float:
    """Highest threshold whose routed mean quality reaches `share` x the strong model's."""
    values = np.asarray(scores, dtype=np.float64)
    s = np.asarray(strong, dtype=np.float64)
    w = np.asarray(weak, dtype=np.float64)
    if values.size == 0 or values.shape != s.shape or s.shape != w.shape:
        raise DataError("scores, strong and weak outcomes must be equal-length and non-empty")
    if not (share > 0.0 and np.isfinite(share)):
        raise ConfigError(
            f"quality share must be a finite number > 0, got {share}", fix="e.g. 0.95 for 95 %"
        )
    order = np.argsort(-values, kind="stable")
    target = share * s.mean() * values.size
    # Quality when the top-k scored prompts go to the strong model, for k = 0..n.
    totals = w.sum() + np.concatenate([[0.0], np.cumsum((s - w)[order])])
    sorted_scores = values[order]
    for k in range(values.size + 1):
        # Only cut between distinct scores: a threshold cannot split tied prompts.
        if k not in (0, values.size) and sorted_scores[k - 1] == sorted_scores[k]:
            continue
        if totals[k] >= target - 1e-12:
            if k == 0:
                return float(np.nextafter(sorted_scores[0], np.inf))
            if k == values.size:
                return float(sorted_scores[-1])
            return float((sorted_scores[k - 1] + sorted_scores[k]) / 2.0)
    strong_total = s.mean() * values.size
    best = f"best {totals.max() / strong_total:.1%}" if strong_total else "the strong model's is 0"
    raise DataError(
        f"no threshold reaches {share:.0%} of the strong model's quality on this data ({best})",
    )


def summarise(
    scores: ArrayLike, strong: ArrayLike, weak: ArrayLike, threshold: float, target: str
) -> Calibration:
    values = np.asarray(scores, dtype=np.float64)
    s = np.asarray(strong, dtype=np.float64)
    w = np.asarray(weak, dtype=np.float64)
    chosen = values >= threshold
    return Calibration(
        threshold=threshold,
        strong_share=_share_at(values, threshold),
        quality=float(np.where(chosen, s, w).mean()),
        strong_quality=float(s.mean()),
        weak_quality=float(w.mean()),
        target=target,
    )


def write_router_config(path: str | Path, router: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `router` into ``dispatcher: router:`` of a YAML file, keeping every other key.

    The file is created if missing; its comments, key order and quoting are kept.
    """
    from dispatcher._yaml_file import edit_yaml_file, section

    file = Path(path)
    merged: dict[str, Any] = {}

    def merge(data: MutableMapping[str, Any]) -> None:
        settings = section(data, "dispatcher", file=file)
        current = settings.get("router")
        if not isinstance(current, MutableMapping) or current.get("type") not in (
            None,
            router.get("type"),
        ):
            # A different router type's options would not apply to the new one.
            current = settings["router"] = {}
        current.update(router)  # in place: comments on the kept keys stay
        merged.update(current)

    edit_yaml_file(file, merge)
    return merged
