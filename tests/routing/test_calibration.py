"""Calibration: thresholds for a strong-call budget or a quality target, written into config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from routing_data import synthetic_records

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.errors import ConfigError, DataError
from dispatcher.preferences import PreferenceDataset
from dispatcher.routing import build_router
from dispatcher.routing._calibrate_run import run_calibration
from dispatcher.routing.base import scores_of
from dispatcher.routing.calibration import (
    threshold_for_quality_share,
    threshold_for_strong_share,
    write_router_config,
)


def test_strong_share_threshold_splits_scores() -> None:
    scores = np.linspace(0, 1, 1001)
    t = threshold_for_strong_share(scores, 0.2)
    assert np.mean(scores >= t) == pytest.approx(0.2, abs=0.001)
    assert np.mean(scores >= threshold_for_strong_share(scores, 0.0)) == 0.0
    assert np.mean(scores >= threshold_for_strong_share(scores, 1.0)) == 1.0
    with pytest.raises(ConfigError, match="strong share must be in"):
        threshold_for_strong_share(scores, 1.5)


def test_quality_share_threshold_is_the_cheapest_that_reaches_target() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    strong = np.array([1.0, 1.0, 1.0, 1.0])
    weak = np.array([0.0, 0.0, 1.0, 1.0])
    t = threshold_for_quality_share(scores, strong, weak, 0.75)  # needs the first query only
    assert 0.8 < t <= 0.9
    t_full = threshold_for_quality_share(scores, strong, weak, 1.0)
    assert 0.7 < t_full <= 0.8
    with pytest.raises(DataError, match="no threshold reaches"):
        threshold_for_quality_share(scores, strong, weak, 1.5)


def test_config_write_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "dispatcher.yaml"
    path.write_text(
        "model_list: [{model_name: small}]\n"
        "dispatcher:\n  tiers: {weak: small}\n"
        "  router: {type: predictive, threshold: 0.1, strong: big}\n",
        encoding="utf-8",
    )
    write_router_config(path, {"type": "predictive", "threshold": 0.42})
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["model_list"] == [{"model_name": "small"}]
    assert data["dispatcher"]["tiers"] == {"weak": "small"}
    assert data["dispatcher"]["router"] == {
        "type": "predictive",
        "threshold": 0.42,
        "strong": "big",
    }
    write_router_config(path, {"type": "length", "threshold": 900})
    assert yaml.safe_load(path.read_text())["dispatcher"]["router"] == {
        "type": "length",
        "threshold": 900,
    }


@pytest.fixture(scope="module")
def split() -> tuple[PreferenceDataset, PreferenceDataset]:
    records = synthetic_records(12000, seed=7)
    # Held-out split by group: the calibration never sees these groups.
    calib = tuple(r for r in records if r.group and int(r.group[1:]) < 6)
    held = tuple(r for r in records if r.group and int(r.group[1:]) >= 6)
    return PreferenceDataset(calib, "calib"), PreferenceDataset(held, "held")


@pytest.fixture(scope="module")
def calibrated(
    tmp_path_factory: pytest.TempPathFactory, split: tuple[PreferenceDataset, PreferenceDataset]
) -> dict[str, Any]:
    config = tmp_path_factory.mktemp("calibration") / "dispatcher.yaml"
    summary = run_calibration(
        dataset=split[0],
        strong="strong",
        weak="weak",
        config_path=config,
        router="predictive",
        strong_share=0.25,
        quality_share=None,
        model_out=None,
        routes=("strong", "weak"),
        folds=3,
        embedder=HashingEmbedder(128),
        embedder_spec="hashing:128",
        seed=0,
    )
    section: dict[str, Any] = yaml.safe_load(config.read_text())["dispatcher"]["router"]
    return {"summary": summary, "section": section}


def test_calibrated_share_holds_on_held_out_split(
    calibrated: dict[str, Any], split: tuple[PreferenceDataset, PreferenceDataset]
) -> None:
    section = calibrated["section"]
    assert calibrated["summary"]["strong_share"] == pytest.approx(0.25, abs=0.005)
    assert section["type"] == "predictive" and Path(section["model_path"]).is_file()
    router = build_router(section)
    held = split[1]
    held_scores = np.asarray(scores_of(router, [r.prompt for r in held.records]))  # type: ignore[arg-type]
    assert np.mean(held_scores >= section["threshold"]) == pytest.approx(0.25, abs=0.02)


def test_quality_target_reaches_its_share_on_held_out_split(
    tmp_path: Path, split: tuple[PreferenceDataset, PreferenceDataset]
) -> None:
    calib, held = split
    config = tmp_path / "dispatcher.yaml"
    run_calibration(
        dataset=calib,
        strong="strong",
        weak="weak",
        config_path=config,
        router="predictive",
        strong_share=None,
        quality_share=0.95,
        model_out=tmp_path / "m.npz",
        routes=("strong", "weak"),
        folds=2,
        embedder=HashingEmbedder(128),
        embedder_spec="hashing:128",
        seed=0,
    )
    section = yaml.safe_load(config.read_text())["dispatcher"]["router"]
    router = build_router(section)
    s = np.asarray([r.scores["strong"] for r in held.records])
    w = np.asarray([r.scores["weak"] for r in held.records])
    scores = np.asarray(scores_of(router, [r.prompt for r in held.records]))  # type: ignore[arg-type]
    routed = np.where(scores >= section["threshold"], s, w).mean()
    assert routed / s.mean() == pytest.approx(0.95, abs=0.02)
    assert np.mean(scores >= section["threshold"]) < 0.9  # and it did not just send everything


@pytest.mark.parametrize("share", [float("inf"), float("nan"), -0.5])
def test_a_quality_share_that_is_not_a_finite_positive_number_is_a_config_error(
    share: float,
) -> None:
    # inf was taken, then failed as "no threshold reaches inf%" after a numpy
    # divide-by-zero warning on data where the strong model scores 0.
    scores, strong, weak = np.array([0.9, 0.1]), np.zeros(2), np.ones(2)
    with np.errstate(all="raise"), pytest.raises(ConfigError, match="quality share"):
        threshold_for_quality_share(scores, strong, weak, share)
