"""Predictive routing: a model trained on a preference dataset scores each prompt with the
strong model's expected win rate over the weak one (ties count half), i.e. P(strong needed).

The model blends two cheap learners over a sentence embedding and domain-free text features
(`_features`): an L2-regularised logistic regression with soft labels, and the mean label of
the k nearest training prompts. Both run in numpy in well under a millisecond per prompt,
after the embedding. Prompts at or above the threshold go to the strong route.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError, DataError
from dispatcher.preferences.dataset import PreferenceDataset
from dispatcher.routing._features import FEATURE_NAMES, text_features
from dispatcher.routing._learners import fit_logistic, knn_mean, predict_logistic
from dispatcher.routing.base import RouteContext, RouteDecision, StrongWeakPair

__all__ = ["PredictiveRouter", "WinRateModel", "fit_win_rate_model", "win_rate_targets"]

_FORMAT = "dispatcher.win-rate-model/1"
Floats = NDArray[np.float64]


def win_rate_targets(strong: Sequence[float], weak: Sequence[float]) -> Floats:
    """Per query: 1 if the strong model is better, 0 if worse, 0.5 on a tie; graded scores
    give values in between, the difference scaled by the dataset's quality range."""
    s = np.asarray(strong, dtype=np.float64)
    w = np.asarray(weak, dtype=np.float64)
    span = float(max(s.max(), w.max()) - min(s.min(), w.min()))
    if span == 0.0:
        raise DataError("every score is the same: there is nothing to learn from this dataset")
    return 0.5 * (1.0 + np.clip((s - w) / span, -1.0, 1.0))


@dataclass(frozen=True)
class WinRateModel:
    """The fitted parameters; `embedder` names the embedding model it was trained with."""

    embedder: str
    feature_mean: Floats
    feature_scale: Floats
    embedding_scale: float
    theta: Floats
    knn_keys: NDArray[np.float32]
    knn_targets: Floats
    knn_k: int
    knn_blend: float
    info: Mapping[str, Any] = field(default_factory=dict)

    def _design(self, embeddings: NDArray[np.float32], features: Floats) -> Floats:
        z = (features - self.feature_mean) / self.feature_scale
        return np.hstack([embeddings.astype(np.float64) * self.embedding_scale, z])

    def predict(self, embeddings: NDArray[np.float32], features: Floats) -> Floats:
        """Strong-model win rate per row of (embedding, text features)."""
        linear = predict_logistic(self.theta, self._design(embeddings, features))
        if self.knn_blend <= 0.0 or self.knn_keys.shape[0] == 0:
            return linear
        nearest = knn_mean(embeddings, self.knn_keys, self.knn_targets, self.knn_k)
        blended: Floats = (1.0 - self.knn_blend) * linear + self.knn_blend * nearest
        return blended

    def save(self, path: str | Path) -> None:
        meta = {
            "format": _FORMAT,
            "embedder": self.embedder,
            "features": list(FEATURE_NAMES),
            "embedding_scale": self.embedding_scale,
            "knn_k": self.knn_k,
            "knn_blend": self.knn_blend,
            "info": dict(self.info),
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        with tmp.open("wb") as handle:
            np.savez_compressed(
                handle,
                meta=np.asarray(json.dumps(meta)),
                feature_mean=self.feature_mean,
                feature_scale=self.feature_scale,
                theta=self.theta,
                knn_keys=self.knn_keys.astype(np.float16),
                knn_targets=self.knn_targets,
            )
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | Path) -> WinRateModel:
        source = Path(path)
        fix = "train one with `dispatcher calibrate --data FILE ... --config FILE`"
        try:
            with np.load(source, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {k: data[k] for k in data.files if k != "meta"}
        except FileNotFoundError as exc:
            raise ConfigError("predictive model file not found", file=source, fix=fix) from exc
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ConfigError(f"not a predictive model file ({exc})", file=source, fix=fix) from exc
        if meta.get("format") != _FORMAT or meta.get("features") != list(FEATURE_NAMES):
            raise ConfigError(
                "model file was written by an incompatible version", file=source, fix=fix
            )
        return cls(
            embedder=str(meta["embedder"]),
            feature_mean=arrays["feature_mean"],
            feature_scale=arrays["feature_scale"],
            embedding_scale=float(meta["embedding_scale"]),
            theta=arrays["theta"],
            knn_keys=arrays["knn_keys"].astype(np.float32),
            knn_targets=arrays["knn_targets"],
            knn_k=int(meta["knn_k"]),
            knn_blend=float(meta["knn_blend"]),
            info=dict(meta.get("info", {})),
        )


def fit_win_rate_model(
    embeddings: NDArray[np.float32],
    features: Floats,
    targets: Floats,
    *,
    embedder: str,
    l2: float = 100.0,
    embedding_scale: float = 3.0,
    knn_k: int = 50,
    knn_blend: float = 0.5,
    info: Mapping[str, Any] | None = None,
) -> WinRateModel:
    """Fit the logistic part and store the kNN memory (training embeddings and targets)."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    design = np.hstack([embeddings.astype(np.float64) * embedding_scale, (features - mean) / scale])
    theta = fit_logistic(design, targets, l2=l2)
    return WinRateModel(
        embedder=embedder,
        feature_mean=mean,
        feature_scale=scale,
        embedding_scale=embedding_scale,
        theta=theta,
        knn_keys=np.ascontiguousarray(embeddings, dtype=np.float32),
        knn_targets=targets.astype(np.float64),
        knn_k=knn_k,
        knn_blend=knn_blend,
        info=dict(info or {}),
    )


class PredictiveRouter:
    """Routes to strong when the predicted strong win rate reaches the threshold."""

    def __init__(
        self,
        model: WinRateModel,
        embedder: Embedder,
        pair: StrongWeakPair | None = None,
        *,
        name: str = "predictive",
    ) -> None:
        if embedder.name != model.embedder:
            raise ConfigError(
                f"the model was trained on {model.embedder!r} embeddings but the router was "
                f"given {embedder.name!r}",
                field="embedder",
                fix="use the embedder the model was trained with (see `dispatcher calibrate`)",
            )
        self.name = name
        self.model = model
        self.embedder = embedder
        self.pair = pair or StrongWeakPair(threshold=0.5)

    @classmethod
    def fit(
        cls,
        dataset: PreferenceDataset,
        strong: str,
        weak: str,
        embedder: Embedder,
        pair: StrongWeakPair | None = None,
        **options: Any,
    ) -> PredictiveRouter:
        """Train on every record of `dataset` (scores of `strong` and `weak` must be present)."""
        dataset.check_models(strong, weak)
        prompts = [r.prompt for r in dataset.records]
        targets = win_rate_targets(
            [r.scores[strong] for r in dataset.records], [r.scores[weak] for r in dataset.records]
        )
        model = fit_win_rate_model(
            embedder.embed(prompts),
            text_features(prompts),
            targets,
            embedder=embedder.name,
            info={"strong": strong, "weak": weak, "records": len(dataset), "data": dataset.source},
            **options,
        )
        return cls(model, embedder, pair)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        pair: StrongWeakPair | None = None,
        embedder: Embedder | None = None,
    ) -> PredictiveRouter:
        """Load a saved model; the embedder defaults to the one named in the file."""
        model = WinRateModel.load(path)
        if embedder is None:
            from dispatcher.embeddings import build_embedder

            embedder = build_embedder(_spec_for(model.embedder))
        return cls(model, embedder, pair)

    def save(self, path: str | Path) -> None:
        self.model.save(path)

    def scores(self, prompts: Sequence[str]) -> list[float]:
        if not prompts:
            return []
        predicted = self.model.predict(self.embedder.embed(prompts), text_features(prompts))
        return [float(v) for v in predicted]

    def score(self, prompt: str) -> float:
        return self.scores([prompt])[0]

    def __call__(self, context: RouteContext) -> RouteDecision:
        why = "predicted strong-model win rate"
        return self.pair.decide(self.name, self.score(context.prompt), context, why)


def _spec_for(embedder_name: str) -> str:
    """An embedder's name back as a build spec (``all-MiniLM-L6-v2/max128`` -> ``minilm:128``)."""
    if embedder_name.startswith("all-MiniLM-L6-v2/max"):
        return "minilm:" + embedder_name.rsplit("max", 1)[1]
    if embedder_name.startswith("hashing/"):
        return "hashing:" + embedder_name.split("/", 1)[1]
    if embedder_name.startswith("sentence-transformers/"):
        return "sentence-transformers:" + embedder_name.split("/", 1)[1]
    if embedder_name.startswith("openai/"):
        parts = embedder_name.split("/")
        return "openai:" + parts[1]
    raise ConfigError(
        f"cannot rebuild embedder {embedder_name!r}", fix="set 'embedder' in the router config"
    )
