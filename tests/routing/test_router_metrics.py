"""The metric code reproduces RouteLLM's harness: hand-made curves and the MMLU anchors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dispatcher.errors import DataError
from dispatcher.routing.metrics import (
    apgr,
    cpt,
    metrics_for,
    oracle_curve,
    random_curve,
    sweep,
)

ROUTELLM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routellm"
STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def test_sweep_has_eleven_points_from_all_strong_to_none() -> None:
    rng = np.random.default_rng(0)
    strong, weak = rng.random(1000) < 0.8, rng.random(1000) < 0.6
    curve = sweep(rng.random(1000), strong, weak)
    assert len(curve.share) == 11
    assert curve.share[0] == 0.0 and curve.share[-1] == 1.0
    assert curve.quality[0] == pytest.approx(weak.mean())
    assert curve.quality[-1] == pytest.approx(strong.mean())


def test_perfect_ranking_beats_reversed_ranking() -> None:
    strong = np.array([1, 1, 1, 1, 0, 1, 1, 1, 1, 1] * 10, dtype=float)
    weak = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1] * 10, dtype=float)
    gain = strong - weak
    good, bad = metrics_for(sweep(gain, strong, weak)), metrics_for(sweep(-gain, strong, weak))
    assert good.apgr > 1.0 > 0.5 > bad.apgr
    assert good.cpt50 is not None and good.cpt50 < 0.2


def test_cpt_interpolates_linearly_between_points() -> None:
    # Two queries; only the first benefits from the strong model.
    strong, weak = np.array([1.0, 0.0]), np.array([0.0, 0.0])
    curve = sweep(np.array([0.9, 0.1]), strong, weak)
    # Shares 0 -> 0.5 reach PGR 0 -> 1, so PGR 0.5 needs a 25 % share.
    assert cpt(curve, 0.5) == pytest.approx(0.25)
    assert cpt(curve, 2.0) is None


def test_oracle_spends_strong_calls_only_where_they_help() -> None:
    # Two of ten queries gain: PGR 0.5 at a 10 % budget, then 1 from 20 % on.
    strong, weak = np.array([1.0, 1.0] + [0.0] * 8), np.zeros(10)
    curve = oracle_curve(strong, weak)
    assert list(curve.pgr[:3]) == pytest.approx([0.0, 0.5, 1.0])
    assert apgr(curve) == pytest.approx(0.05 * 0.5 + 0.05 * 1.5 + 0.8)


def test_equal_models_are_a_data_error() -> None:
    with pytest.raises(DataError, match="same mean quality"):
        metrics_for(sweep([0.1, 0.2], [1.0, 0.0], [0.0, 1.0]))


def test_score_count_must_match() -> None:
    with pytest.raises(DataError, match="expected 3 scores"):
        sweep([0.1, 0.2], [1, 0, 1], [0, 1, 1])


@pytest.fixture(scope="module")
def mmlu() -> tuple[list[str], np.ndarray, np.ndarray]:
    if not (ROUTELLM / "mmlu").is_dir():
        pytest.skip(f"RouteLLM data not found at {ROUTELLM}")
    from dispatcher.preferences import import_routellm

    records = import_routellm(ROUTELLM).records
    strong = np.array([r.scores[STRONG] for r in records])
    weak = np.array([r.scores[WEAK] for r in records])
    return [r.prompt for r in records], strong, weak


def test_anchor_rows_and_accuracies(mmlu: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    prompts, strong, weak = mmlu
    assert len(prompts) == 14037
    assert strong.mean() == pytest.approx(0.8059, abs=5e-5)
    assert weak.mean() == pytest.approx(0.6809, abs=5e-5)


def test_anchor_length_rule(mmlu: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    prompts, strong, weak = mmlu
    m = metrics_for(sweep([len(p) for p in prompts], strong, weak))
    assert round(m.apgr, 3) == 0.584
    assert m.cpt50 is not None and round(100 * m.cpt50, 2) == 36.70
    assert m.cpt80 is not None and round(100 * m.cpt80, 2) == 69.20


def test_anchor_oracle(mmlu: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    _, strong, weak = mmlu
    m = metrics_for(oracle_curve(strong, weak))
    assert round(m.apgr, 3) == 1.290
    assert m.cpt50 is not None and round(100 * m.cpt50, 2) == 6.25
    assert m.cpt80 is not None and round(100 * m.cpt80, 2) == 10.00


def test_anchor_random(mmlu: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    _, strong, weak = mmlu
    # README: 0.500 / 50.0 % / 80.0 % with sd 0.003 / 0.5 / 0.4 over repeats.
    m = metrics_for(random_curve(strong, weak, seed=1))
    assert m.apgr == pytest.approx(0.500, abs=0.01)
    assert m.cpt50 == pytest.approx(0.500, abs=0.015)
    assert m.cpt80 == pytest.approx(0.800, abs=0.012)
