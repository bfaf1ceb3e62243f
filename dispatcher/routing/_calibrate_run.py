"""`dispatcher calibrate` end to end: out-of-fold scores -> threshold -> final model -> config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError
from dispatcher.preferences.dataset import PreferenceDataset
from dispatcher.routing._fitting import fit_router
from dispatcher.routing.base import scores_of
from dispatcher.routing.calibration import (
    summarise,
    threshold_for_quality_share,
    threshold_for_strong_share,
    write_router_config,
)
from dispatcher.routing.evaluation import Progress, assign_folds, outcomes
from dispatcher.routing.predictive import PredictiveRouter

__all__ = ["out_of_fold_scores", "run_calibration"]

CALIBRATABLE = ("predictive", "length")


def out_of_fold_scores(
    dataset: PreferenceDataset,
    strong: str,
    weak: str,
    embedder: Embedder,
    *,
    folds: int,
    seed: int,
    progress: Progress | None = None,
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Predictive-router scores of every record from a model that did not train on it."""
    fold_of, _ = assign_folds(dataset, folds, seed=seed)
    fold_array = np.asarray(fold_of)
    prompts = [r.prompt for r in dataset.records]
    scores = np.zeros(len(dataset))
    if progress is not None:
        progress.start(f"out-of-fold scores ({folds} folds)", folds)
    for fold in range(folds):
        test = np.flatnonzero(fold_array == fold)
        train = dataset.subset(np.flatnonzero(fold_array != fold))
        router = fit_router("predictive", train, strong, weak, embedder, seed=seed + fold)
        scores[test] = scores_of(router, [prompts[i] for i in test])
        if progress is not None:
            progress.advance()
    return scores


def run_calibration(
    *,
    dataset: PreferenceDataset,
    strong: str,
    weak: str,
    config_path: Path,
    router: str,
    strong_share: float | None,
    quality_share: float | None,
    model_out: Path | None,
    routes: tuple[str, str],
    folds: int,
    embedder: Embedder | None,
    embedder_spec: str,
    seed: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fit the threshold, save the model (predictive), write the config; returns a summary."""
    if router not in CALIBRATABLE:
        raise ConfigError(
            f"cannot calibrate a {router!r} router", fix=f"use --router {' or '.join(CALIBRATABLE)}"
        )
    s, w = outcomes(dataset, strong, weak)
    prompts = [r.prompt for r in dataset.records]
    section: dict[str, Any] = {"type": router, "strong": routes[0], "weak": routes[1]}
    if router == "predictive":
        assert embedder is not None
        # Labels are only needed to turn a quality target into a strong-call share, and that
        # relation must come from prompts the scoring model never saw: out-of-fold scores.
        # The threshold itself is the matching quantile of the deployed model's own scores,
        # whose spread differs a little from the fold models'.
        unseen = out_of_fold_scores(
            dataset, strong, weak, embedder, folds=folds, seed=seed, progress=progress
        )
        if progress is not None:
            progress.start("training the final model on all records", 1)
        final = fit_router("predictive", dataset, strong, weak, embedder, seed=seed)
        assert isinstance(final, PredictiveRouter)
        # Each training prompt scored without itself as a neighbour (see `training_scores`).
        deployed = np.asarray(final.training_scores(prompts))
        path = model_out or config_path.with_name(f"{config_path.stem}.router.npz")
        final.save(path)
        section["model_path"] = str(path.resolve())
        section["embedder"] = embedder_spec
        if progress is not None:
            progress.advance()
    else:
        unseen = deployed = np.asarray([float(len(p)) for p in prompts])
    if strong_share is not None:
        target, share = f"strong_share={strong_share:g}", strong_share
    else:
        assert quality_share is not None
        target = f"quality_share={quality_share:g}"
        needed = threshold_for_quality_share(unseen, s, w, quality_share)
        share = float(np.mean(unseen >= needed))
    threshold = threshold_for_strong_share(deployed, share)
    # What the threshold is expected to achieve on new prompts, estimated out of fold.
    result = summarise(unseen, s, w, threshold_for_strong_share(unseen, share), target)
    # The threshold written is the deployed model's; the out-of-fold one only estimates what
    # it achieves, under its own name so that no one reads two different "thresholds".
    estimate = result.to_json()
    estimate["out_of_fold_threshold"] = estimate.pop("threshold")
    section["threshold"] = float(threshold)
    section["calibration"] = {
        **estimate,
        "data": str(dataset.source),
        "strong_model": strong,
        "weak_model": weak,
    }
    write_router_config(config_path, section)
    return {
        **estimate,
        "threshold": section["threshold"],
        "config": str(config_path),
        "router": section,
    }
