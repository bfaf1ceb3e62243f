"""Predictive routing: learns from preferences, ranks well, round-trips through a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.errors import ConfigError, DataError
from dispatcher.preferences import PreferenceDataset
from dispatcher.routing.base import RouteContext, StrongWeakPair
from dispatcher.routing.evaluation import evaluate_cv
from dispatcher.routing.predictive import PredictiveRouter, win_rate_targets


def test_targets_are_win_rates_with_half_for_ties() -> None:
    assert list(win_rate_targets([1, 1, 0, 0], [0, 1, 0, 1])) == [1.0, 0.5, 0.5, 0.0]
    assert list(win_rate_targets([8, 4], [4, 8])) == pytest.approx([1.0, 0.0])
    with pytest.raises(DataError, match="nothing to learn"):
        win_rate_targets([1, 1], [1, 1])


def test_ranks_hard_topics_above_easy_ones(
    dataset: PreferenceDataset, embedder: HashingEmbedder
) -> None:
    router = PredictiveRouter.fit(dataset, "strong", "weak", embedder)
    hard = router.scores(["solve equation polynomial root x + y = 7", "premise conclusion valid"])
    easy = router.scores(["capital river country flag", "empire war treaty king"])
    assert min(hard) > max(easy)


def test_beats_baselines_in_grouped_cross_validation(
    dataset: PreferenceDataset, embedder: HashingEmbedder
) -> None:
    result = evaluate_cv(dataset, "strong", "weak", ["predictive"], embedder=embedder, folds=4)
    metrics = result.to_json()
    assert metrics["predictive"]["apgr"] > metrics["random"]["apgr"] + 0.1  # type: ignore[operator]
    assert metrics["predictive"]["apgr"] > metrics["length"]["apgr"]  # type: ignore[operator]
    assert list(result.results) == ["predictive", "random", "length", "oracle"]


def test_save_load_round_trip_and_decision(
    tmp_path: Path, dataset: PreferenceDataset, embedder: HashingEmbedder
) -> None:
    router = PredictiveRouter.fit(dataset, "strong", "weak", embedder)
    path = tmp_path / "model.npz"
    router.save(path)
    loaded = PredictiveRouter.load(path, pair=StrongWeakPair(threshold=0.55))
    prompts = ["solve the polynomial root", "famous capital city"]
    assert loaded.scores(prompts) == pytest.approx(router.scores(prompts), abs=1e-3)
    decision = loaded(RouteContext("solve equation polynomial root x", ("strong", "weak")))
    assert decision.router == "predictive" and decision.threshold == 0.55
    assert decision.chosen == ("strong" if decision.score >= 0.55 else "weak")  # type: ignore[operator]
    assert "win rate" in decision.reason


def test_wrong_embedder_or_file_is_a_config_error(
    tmp_path: Path, dataset: PreferenceDataset, embedder: HashingEmbedder
) -> None:
    path = tmp_path / "model.npz"
    PredictiveRouter.fit(dataset, "strong", "weak", embedder).save(path)
    with pytest.raises(ConfigError, match="trained on 'hashing/128'"):
        PredictiveRouter.load(path, embedder=HashingEmbedder(64))
    with pytest.raises(ConfigError, match="not found"):
        PredictiveRouter.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ConfigError, match="not a predictive model file"):
        PredictiveRouter.load(tmp_path / "junk.npz")


def test_graded_scores_train_too(embedder: HashingEmbedder) -> None:
    from dispatcher.preferences import PreferenceRecord

    records = tuple(
        PreferenceRecord(
            f"q{i}",
            ("prove the theorem " if i % 2 else "say hello ") + str(i),
            {"s": 9.0, "w": 3.0 if i % 2 else 8.5},
        )
        for i in range(60)
    )
    router = PredictiveRouter.fit(PreferenceDataset(records), "s", "w", embedder)
    scores = np.asarray(router.scores(["prove the theorem 99", "say hello 98"]))
    assert scores[0] > scores[1]


def _damaged(saved: Path, name: str, **changes: object) -> Path:
    arrays = dict(np.load(saved, allow_pickle=False))
    if "meta_edit" in changes:
        meta = json.loads(str(arrays["meta"]))
        edit = changes.pop("meta_edit")
        meta = edit(meta) if callable(edit) else edit
        arrays["meta"] = np.asarray(json.dumps(meta))
    arrays.update(changes)  # type: ignore[arg-type]
    path = saved.with_name(f"{name}.npz")
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
    return path


def _blend_knn(value: float) -> object:
    def edit(meta: dict[str, Any]) -> dict[str, Any]:
        meta["blend"]["knn_k"] = value
        return meta

    return edit


@pytest.mark.parametrize(
    "changes",
    [
        {"meta_edit": [1, 2]},  # AttributeError
        {"meta_edit": _blend_knn(float("inf"))},  # OverflowError
        {"theta": np.zeros((3, 5))},  # ValueError at the first prompt
        {"knn_keys": np.zeros((5, 7), dtype=np.float32)},
        {"knn_gains": np.zeros(3)},  # IndexError at the first prompt
        {"theta": np.full((2, 64 + 25 + 1), np.nan)},  # silently routed on NaN
        {"knn_gains": np.full(60, np.nan)},
        {"feature_scale": np.zeros(25)},
    ],
    ids=[
        "meta_list",
        "knn_inf",
        "theta_shape",
        "keys_shape",
        "gains_short",
        "theta_nan",
        "gains_nan",
        "scale_zero",
    ],
)
def test_a_damaged_model_file_is_a_config_error_at_load(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    from routing_data import synthetic_records

    embedder = HashingEmbedder(64)
    dataset = PreferenceDataset(tuple(synthetic_records(60)))
    saved = tmp_path / "model.npz"
    PredictiveRouter.fit(dataset, "strong", "weak", embedder).save(saved)
    path = _damaged(saved, "damaged", **changes)
    with pytest.raises(ConfigError, match=r"not a predictive model file|damaged") as caught:
        router = PredictiveRouter.load(path, embedder=embedder)
        router(RouteContext("solve the equation", ("strong", "weak")))
    assert str(path) in str(caught.value) and caught.value.fix
