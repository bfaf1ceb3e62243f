"""Offline evaluation of strong/weak routers on a preference dataset.

Routers are fitted on training queries and score held-out ones; the metrics (APGR, CPT)
come from `dispatcher.routing.metrics`. With k-fold cross-validation, the out-of-fold
scores of all folds are pooled and swept once, so every query is scored by a router that
never saw it (nor, when the data has groups, anything from its group). The `random`,
`length` and `oracle` baselines are always reported alongside.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError, DataError
from dispatcher.preferences.dataset import PreferenceDataset
from dispatcher.routing._fitting import TRAINABLE_ROUTERS, fit_router
from dispatcher.routing.base import scores_of
from dispatcher.routing.metrics import (
    Curve,
    RouterMetrics,
    metrics_for,
    oracle_curve,
    random_curve,
    sweep,
)

__all__ = [
    "BASELINES",
    "Evaluation",
    "Progress",
    "RouterResult",
    "assign_folds",
    "evaluate_cv",
    "evaluate_split",
    "outcomes",
]

BASELINES = ("random", "length", "oracle")


class Progress(Protocol):
    """Where long evaluations report progress (the CLI draws a bar; tests pass nothing)."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class _Silent:
    def start(self, description: str, total: int) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None


@dataclass(frozen=True, slots=True)
class RouterResult:
    name: str
    curve: Curve
    metrics: RouterMetrics


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Metrics per router (trained routers first, then baselines) and what they were run on."""

    results: Mapping[str, RouterResult]
    queries: int
    strong_quality: float
    weak_quality: float
    split: str

    def to_json(self) -> dict[str, dict[str, float | None]]:
        return {name: r.metrics.to_json() for name, r in self.results.items()}


def outcomes(
    dataset: PreferenceDataset, strong: str, weak: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The strong and weak model's quality per record (checked to exist on every line)."""
    if strong == weak:
        raise ConfigError(
            "--strong and --weak name the same model", fix="pick two different models"
        )
    dataset.check_models(strong, weak)
    s = np.asarray([r.scores[strong] for r in dataset.records], dtype=np.float64)
    w = np.asarray([r.scores[weak] for r in dataset.records], dtype=np.float64)
    return s, w


def _stable_hash(text: str, seed: int) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{seed}\0{text}".encode(), digest_size=8).digest(), "big"
    )


def assign_folds(dataset: PreferenceDataset, k: int, *, seed: int = 0) -> tuple[list[int], str]:
    """Fold index per record, and a description of the split.

    With groups, whole groups go to folds (largest first, each to the currently smallest
    fold, ties broken by a seeded hash) so folds are balanced; a record without a group
    is its own group. Without groups, records are spread by a seeded hash of their id.
    """
    if k < 2:
        raise ConfigError(f"--folds must be at least 2, got {k}", fix="use e.g. --folds 5")
    if len(dataset) < k:
        raise DataError(f"{len(dataset)} records cannot fill {k} folds", file=dataset.source)
    if dataset.has_groups:
        keys = [r.group if r.group is not None else f"\0id:{r.id}" for r in dataset.records]
        sizes: dict[str, int] = {}
        for key in keys:
            sizes[key] = sizes.get(key, 0) + 1
        if len(sizes) < k:
            raise DataError(
                f"only {len(sizes)} groups, fewer than {k} folds; use --folds {len(sizes)} or less",
                file=dataset.source,
            )
        load = [0] * k
        fold_of: dict[str, int] = {}
        for key in sorted(sizes, key=lambda g: (-sizes[g], _stable_hash(g, seed))):
            target = min(range(k), key=lambda f: (load[f], f))
            fold_of[key] = target
            load[target] += sizes[key]
        return [
            fold_of[key] for key in keys
        ], f"{k}-fold cross-validation by group ({len(sizes)} groups)"
    order = sorted(range(len(dataset)), key=lambda i: _stable_hash(dataset.records[i].id, seed))
    folds = [0] * len(dataset)
    for rank, index in enumerate(order):
        folds[index] = rank % k
    return folds, f"{k}-fold cross-validation by id"


class _Precomputed:
    """Serves embeddings computed up front; anything else goes to the wrapped embedder."""

    def __init__(self, inner: Embedder, texts: Sequence[str], matrix: NDArray[np.float32]):
        self.name = inner.name
        self.dim = inner.dim
        self._inner = inner
        self._matrix = matrix
        self._row = {t: i for i, t in enumerate(texts)}

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = [self._row.get(t) for t in texts]
        if all(r is not None for r in rows):
            return self._matrix[[r for r in rows if r is not None]]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, r in enumerate(rows) if r is None]
        for i, r in enumerate(rows):
            if r is not None:
                out[i] = self._matrix[r]
        out[missing] = self._inner.embed([texts[i] for i in missing])
        return out


def _precompute(embedder: Embedder, texts: Sequence[str], progress: Progress) -> Embedder:
    unique = list(dict.fromkeys(texts))
    progress.start(f"embedding {len(unique)} prompts with {embedder.name}", len(unique))
    parts = []
    for start in range(0, len(unique), 256):
        batch = unique[start : start + 256]
        parts.append(embedder.embed(batch))
        progress.advance(len(batch))
    matrix = np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)
    return _Precomputed(embedder, unique, matrix)


def _check_routers(routers: Sequence[str]) -> list[str]:
    unknown = [r for r in routers if r not in TRAINABLE_ROUTERS and r not in BASELINES]
    if unknown:
        raise ConfigError(
            f"unknown router(s): {', '.join(unknown)}",
            fix=f"choose from {', '.join((*TRAINABLE_ROUTERS, *BASELINES))}",
        )
    return [r for r in dict.fromkeys(routers) if r not in BASELINES]


def _baselines(
    prompts: Sequence[str], s: NDArray[np.float64], w: NDArray[np.float64], seed: int
) -> dict[str, Curve]:
    return {
        "random": random_curve(s, w, seed=seed),
        "length": sweep([float(len(p)) for p in prompts], s, w),
        "oracle": oracle_curve(s, w),
    }


def _assemble(
    curves: Mapping[str, Curve], n: int, s: NDArray[np.float64], w: NDArray[np.float64], split: str
) -> Evaluation:
    results = {name: RouterResult(name, c, metrics_for(c)) for name, c in curves.items()}
    return Evaluation(results, n, float(s.mean()), float(w.mean()), split)


def evaluate_cv(
    dataset: PreferenceDataset,
    strong: str,
    weak: str,
    routers: Sequence[str],
    *,
    embedder: Embedder,
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
) -> Evaluation:
    """k-fold cross-validation; out-of-fold scores are pooled into one sweep per router."""
    report = progress or _Silent()
    trained = _check_routers(routers)
    s, w = outcomes(dataset, strong, weak)
    fold_of, split = assign_folds(dataset, folds, seed=seed)
    prompts = [r.prompt for r in dataset.records]
    fold_array = np.asarray(fold_of)
    scores = {name: np.zeros(len(dataset)) for name in trained}
    if trained:
        # Embed every prompt once (with a progress bar), not once per fold and router.
        embedder = _precompute(embedder, prompts, report)
        report.start(f"fitting {', '.join(trained)} on {folds} folds", folds * len(trained))
    for fold in range(folds if trained else 0):
        test = np.flatnonzero(fold_array == fold)
        train = dataset.subset(np.flatnonzero(fold_array != fold))
        test_prompts = [prompts[i] for i in test]
        for name in trained:
            router = fit_router(name, train, strong, weak, embedder, seed=seed + fold)
            scores[name][test] = scores_of(router, test_prompts)
            report.advance()
    curves = {name: sweep(values, s, w) for name, values in scores.items()}
    curves.update(_baselines(prompts, s, w, seed))
    return _assemble(curves, len(dataset), s, w, split)


def evaluate_split(
    train: PreferenceDataset,
    test: PreferenceDataset,
    strong: str,
    weak: str,
    routers: Sequence[str],
    *,
    embedder: Embedder,
    seed: int = 0,
    progress: Progress | None = None,
) -> Evaluation:
    """Fit on `train`, score `test` (e.g. a different dataset with the same two models)."""
    report = progress or _Silent()
    trained = _check_routers(routers)
    outcomes(train, strong, weak)
    s, w = outcomes(test, strong, weak)
    prompts = [r.prompt for r in test.records]
    curves: dict[str, Curve] = {}
    if trained:
        shared = _precompute(embedder, [r.prompt for r in train.records] + prompts, report)
        report.start(f"fitting {', '.join(trained)}", len(trained))
        for name in trained:
            router = fit_router(name, train, strong, weak, shared, seed=seed)
            curves[name] = sweep(scores_of(router, prompts), s, w)
            report.advance()
    curves.update(_baselines(prompts, s, w, seed))
    split = f"train {len(train)} records ({train.source}), test {len(test)} ({test.source})"
    return _assemble(curves, len(test), s, w, split)
