"""Predictive routing: a model trained on a preference dataset scores each prompt with the
strong model's expected win rate over the weak one (ties count half), i.e. P(strong needed).

The model estimates the strong model's gain on a prompt from a sentence embedding and
domain-free text features (`_features`): two L2-regularised logistic regressions predict
how good each model is, the mean gain of the nearest training prompts is blended in, and
near-duplicate training prompts update the estimate (`_blend`). How much of each, and the
regularisation, are chosen per dataset by inner cross-validation (`_win_rate_fit`). All of
it runs in numpy in well under a millisecond per prompt after the embedding. Prompts at or
above the threshold go to the strong route.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dispatcher._blas import blas_threads
from dispatcher._user_files import check_replaceable
from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError, DataError
from dispatcher.preferences.dataset import PreferenceDataset
from dispatcher.routing._blend import DEFAULT_COEF, Blend
from dispatcher.routing._features import FEATURE_NAMES, text_features
from dispatcher.routing._learners import nearest, sigmoid
from dispatcher.routing._one_prompt import OnePromptScorer
from dispatcher.routing._win_rate_fit import EMBEDDING_SCALE, fit_win_rate
from dispatcher.routing.base import RouteContext, RouteDecision, StrongWeakPair

__all__ = [
    "PredictiveRouter",
    "WinRateModel",
    "fit_win_rate_model",
    "normalised_qualities",
    "win_rate_targets",
]

_FORMAT = "dispatcher.win-rate-model/2"
_OLD_FORMAT = "dispatcher.win-rate-model/1"  # one logistic model of the win rate
Floats = NDArray[np.float64]


def normalised_qualities(strong: Sequence[float], weak: Sequence[float]) -> tuple[Floats, Floats]:
    """Both models' scores mapped to [0, 1] by the dataset's quality range (shared, so
    their difference is the gain)."""
    s = np.asarray(strong, dtype=np.float64)
    w = np.asarray(weak, dtype=np.float64)
    low = float(min(s.min(), w.min()))
    span = float(max(s.max(), w.max())) - low
    if span == 0.0:
        raise DataError("every score is the same: there is nothing to learn from this dataset")
    return (s - low) / span, (w - low) / span


def win_rate_targets(strong: Sequence[float], weak: Sequence[float]) -> Floats:
    """Per query: 1 if the strong model is better, 0 if worse, 0.5 on a tie; graded scores
    give values in between, the difference scaled by the dataset's quality range."""
    s, w = normalised_qualities(strong, weak)
    return 0.5 * (1.0 + np.clip(s - w, -1.0, 1.0))


@dataclass(frozen=True)
class WinRateModel:
    """The fitted parameters; `embedder` names the embedding model it was trained with.

    `theta` has one row per logistic model: two (P(strong good), P(weak good)), or one
    (the win rate itself) in models saved by the first file format.
    """

    embedder: str
    feature_mean: Floats
    feature_scale: Floats
    embedding_scale: float
    theta: Floats
    knn_keys: NDArray[np.float32]
    knn_gains: Floats
    blend: Blend
    info: Mapping[str, Any] = field(default_factory=dict)

    def _linear(self, embeddings: NDArray[np.float32], features: Floats) -> tuple[Floats, Floats]:
        z = (features - self.feature_mean) / self.feature_scale
        x = np.hstack([embeddings.astype(np.float64) * self.embedding_scale, z])
        p = sigmoid(x @ self.theta[:, :-1].T + self.theta[:, -1])
        # A first-format model has one row (the win rate); its blend ignores the second.
        return p[:, 0], (p[:, 1] if self.theta.shape[0] > 1 else np.zeros(len(p)))

    @functools.cached_property
    def _one_prompt(self) -> OnePromptScorer:
        return OnePromptScorer(self)

    def predict_one(self, embedding: NDArray[np.float32], features: Floats) -> float:
        """`predict` for one prompt (a vector and its features), in a tenth of the time."""
        return self._one_prompt(embedding, features)

    def predict(
        self,
        embeddings: NDArray[np.float32],
        features: Floats,
        *,
        exclude: NDArray[np.intp] | None = None,
    ) -> Floats:
        """Strong-model win rate per row of (embedding, text features). `exclude[i]` names a
        training row that row i may not use as a neighbour (itself: see `training_scores`)."""
        with blas_threads(1):
            return self._predict(embeddings, features, exclude)

    def _predict(
        self,
        embeddings: NDArray[np.float32],
        features: Floats,
        exclude: NDArray[np.intp] | None,
    ) -> Floats:
        strong, weak = self._linear(embeddings, features)
        wanted = min(self.blend.neighbours, self.knn_keys.shape[0] - (exclude is not None))
        if wanted > 0:
            index, similarity = nearest(embeddings, self.knn_keys, wanted, exclude=exclude)
        else:
            index = np.zeros((len(strong), 0), dtype=np.intp)
            similarity = np.zeros((len(strong), 0), dtype=np.float32)
        gain = self.blend.combine(strong, weak, index, similarity, self.knn_gains)
        out: Floats = np.clip(0.5 * (1.0 + gain), 0.0, 1.0)
        return out

    def save(self, path: str | Path) -> None:
        meta = {
            "format": _FORMAT,
            "embedder": self.embedder,
            "features": list(FEATURE_NAMES),
            "embedding_scale": self.embedding_scale,
            "blend": {
                "knn_k": self.blend.knn_k,
                "coef": list(self.blend.coef),
                "near_similarity": self.blend.near_similarity,
                "near_weight": self.blend.near_weight,
            },
            "info": dict(self.info),
        }
        target = check_replaceable(Path(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            self._write(tmp, meta)
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)  # no stray temporary file beside the target
            raise

    def _write(self, tmp: Path, meta: Mapping[str, Any]) -> None:
        with tmp.open("wb") as handle:
            np.savez_compressed(
                handle,
                meta=np.asarray(json.dumps(meta)),
                feature_mean=self.feature_mean,
                feature_scale=self.feature_scale,
                theta=self.theta,
                # float32, not float16: near-duplicate tests compare similarities to 0.99
                knn_keys=self.knn_keys.astype(np.float32),
                knn_gains=self.knn_gains,
            )

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
        if not isinstance(meta, dict):
            raise ConfigError(
                "not a predictive model file (its metadata is not an object)", file=source, fix=fix
            )
        version = meta.get("format")
        if version not in (_FORMAT, _OLD_FORMAT) or meta.get("features") != list(FEATURE_NAMES):
            raise ConfigError(
                "model file was written by an incompatible version", file=source, fix=fix
            )
        try:
            if version == _OLD_FORMAT:
                # Old files: the kNN memory held win rates and the blend had no near-duplicates.
                gains = 2.0 * arrays["knn_targets"] - 1.0
                share = float(meta["knn_blend"])
                # (1 - share) * (2 p - 1) + share * knn, as meta-model coefficients
                coef = (2 * (1 - share), 0.0, share, 0.0, 0.0, 0.0, 0.0, 0.0, share - 1)
                blend = Blend(knn_k=int(meta["knn_k"]), coef=coef)
            else:
                gains = arrays["knn_gains"]
                knobs = meta["blend"]
                blend = Blend(
                    knn_k=int(knobs["knn_k"]),
                    coef=tuple(float(c) for c in knobs["coef"]),
                    near_similarity=float(knobs["near_similarity"]),
                    near_weight=float(knobs["near_weight"]),
                )
            model = cls(
                embedder=str(meta["embedder"]),
                feature_mean=arrays["feature_mean"],
                feature_scale=arrays["feature_scale"],
                embedding_scale=float(meta["embedding_scale"]),
                theta=np.atleast_2d(arrays["theta"]),
                knn_keys=arrays["knn_keys"].astype(np.float32),
                knn_gains=gains,
                blend=blend,
                info=dict(meta.get("info", {})),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ConfigError(f"not a predictive model file ({exc})", file=source, fix=fix) from exc
        problem = model.damage()
        if problem is not None:
            raise ConfigError(f"the model file is damaged: {problem}", file=source, fix=fix)
        return model

    def damage(self) -> str | None:
        """What makes these parameters unusable (None if nothing): wrong shapes would fail at
        the first prompt, NaN would route every prompt the same way without a word."""
        features = len(FEATURE_NAMES)
        arrays: dict[str, NDArray[Any]] = {
            "feature_mean": self.feature_mean,
            "feature_scale": self.feature_scale,
            "theta": self.theta,
            "knn_keys": self.knn_keys,
            "knn_gains": self.knn_gains,
            "blend coefficients": np.asarray(self.blend.coef, dtype=np.float64),
            "embedding_scale": np.asarray(self.embedding_scale),
        }
        for name, values in arrays.items():
            if not np.isfinite(values).all():
                return f"{name} holds NaN or infinite numbers"
        if self.feature_mean.shape != (features,) or self.feature_scale.shape != (features,):
            return f"the feature statistics are not {features} numbers each"
        if not np.all(self.feature_scale != 0):
            return "a feature scale is 0"
        if self.knn_keys.ndim != 2 or self.knn_gains.shape != (self.knn_keys.shape[0],):
            return "the nearest-prompt memory's keys and gains disagree in shape"
        columns = self.knn_keys.shape[1] + features + 1
        if self.theta.shape[0] not in (1, 2) or self.theta.shape[1] != columns:
            return f"theta has shape {self.theta.shape}, not (2, {columns})"
        if self.blend.knn_k < 0 or len(self.blend.coef) != len(DEFAULT_COEF):
            return "the blend settings are out of range"
        return None


def fit_win_rate_model(
    embeddings: NDArray[np.float32],
    features: Floats,
    strong: Floats,
    weak: Floats,
    *,
    embedder: str,
    seed: int = 0,
    info: Mapping[str, Any] | None = None,
) -> WinRateModel:
    """Fit on normalised qualities in [0, 1] (see `normalised_qualities`)."""
    fit = fit_win_rate(embeddings, features, strong, weak, seed=seed)
    chosen = {
        "penalty_per_row": fit.penalty,
        "inner_gain_area": fit.inner_gain_area,
        "knn_k": fit.blend.knn_k,
        "meta_coef": [round(c, 4) for c in fit.blend.coef],
        "near_similarity": fit.blend.near_similarity,
        "near_weight": fit.blend.near_weight,
    }
    return WinRateModel(
        embedder=embedder,
        feature_mean=fit.feature_mean,
        feature_scale=fit.feature_scale,
        embedding_scale=EMBEDDING_SCALE,
        theta=fit.theta,
        knn_keys=np.ascontiguousarray(embeddings, dtype=np.float32),
        knn_gains=(strong - weak).astype(np.float64),
        blend=fit.blend,
        info={**dict(info or {}), "selected": chosen},
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
        s, w = normalised_qualities(
            [r.scores[strong] for r in dataset.records], [r.scores[weak] for r in dataset.records]
        )
        model = fit_win_rate_model(
            embedder.embed(prompts),
            text_features(prompts),
            s,
            w,
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

    def training_scores(self, prompts: Sequence[str]) -> list[float]:
        """Scores of the prompts the model was trained on (all of them, in training order),
        each without itself among its neighbours: its own outcome would decide its score,
        so a threshold set on these scores would not hold for new prompts."""
        if len(prompts) != self.model.knn_keys.shape[0]:
            raise DataError(
                f"training_scores needs the {self.model.knn_keys.shape[0]} training prompts, "
                f"got {len(prompts)}"
            )
        own = np.arange(len(prompts), dtype=np.intp)
        embeddings = self.embedder.embed(prompts)
        predicted = self.model.predict(embeddings, text_features(prompts), exclude=own)
        return [float(v) for v in predicted]

    def score(self, prompt: str) -> float:
        embedding = self.embedder.embed([prompt])[0]
        return self.model.predict_one(embedding, text_features([prompt])[0])

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
