"""The shipped profiles' false-alarm promises, held on the real labelled runs in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.detectors import DetectorSettings
from dispatcher.detectors._evaluation import evaluate
from dispatcher.trajectories import Trajectory, load_trajectories, read_labels

_REPO = Path(__file__).resolve().parents[2]
_CANDIDATES = (_REPO.parent / "shared", Path("/work/shared"))


def _data() -> Path:
    for root in _CANDIDATES:
        if (root / "data" / "trajectories").is_dir():
            return root / "data" / "trajectories"
    raise AssertionError(f"the shared data sets are missing: looked in {_CANDIDATES}")


@pytest.fixture(scope="module")
def gemini() -> list[Trajectory]:
    folder = _data() / "swe_gemini3pro_miniswe"
    return load_trajectories(folder / "trajs", labels=read_labels(folder / "labels.jsonl"))


@pytest.fixture(scope="module")
def tau() -> list[Trajectory]:
    return load_trajectories(_data() / "taubench_gpt4o_airline" / "gpt-4o-airline.json")


def _false_alarms(runs: list[Trajectory], profile: str) -> float:
    report = evaluate(
        runs, DetectorSettings.from_mapping({"profile": profile}), (20,), all_profiles=False
    )
    rate = report["profile"]["false_alarm_rate"]
    assert isinstance(rate, float)
    return rate


def test_both_label_files_of_the_gemini_runs_agree(gemini: list[Trajectory]) -> None:
    summary = read_labels(_data() / "swe_gemini3pro_miniswe" / "results_summary.json")
    assert {r.id: r.success for r in gemini} == {r.id: summary[r.id] for r in gemini}
    assert len(gemini) == 450 and sum(r.success for r in gemini) == 346


def test_the_default_profile_alarms_on_at_most_10_percent_of_good_runs_everywhere(
    gemini: list[Trajectory], tau: list[Trajectory]
) -> None:
    assert _false_alarms(gemini, "default") <= 0.10
    assert _false_alarms(tau, "default") <= 0.10


def test_the_coding_profile_alarms_on_at_most_10_percent_of_good_coding_runs(
    gemini: list[Trajectory],
) -> None:
    assert _false_alarms(gemini, "coding") <= 0.10


def test_the_tool_use_profile_alarms_on_at_most_5_percent_of_good_tau_runs(
    tau: list[Trajectory],
) -> None:
    assert _false_alarms(tau, "tool_use") <= 0.05
