"""Replay labelled runs step by step through the detectors the worker loop builds.

Each run gets fresh detectors from `build_detectors` (the worker's own code path), which are
called after every step exactly as the worker calls them. What is kept per detector:
its state (`score`) after each step, the step of its first verdict, and for the rule
detectors their peak count (threshold calibration reads it). Two baselines ride along:
run length, and naive repetition (steps whose exact action appeared before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher.detectors._build import build_detectors
from dispatcher.detectors._combined import CombinedDetector
from dispatcher.detectors._counting import CountingDetector
from dispatcher.detectors._settings import DetectorSettings
from dispatcher.detectors.base import Step
from dispatcher.trajectories import Trajectory

__all__ = ["BASELINES", "Replay", "replay", "state_at"]

BASELINES = ("run_length", "repetition")


@dataclass(frozen=True, slots=True)
class Replay:
    """What the detectors saw on one run.

    `scores[name][i]` is the detector's state after i steps (index 0: before any step), so a
    run of n steps has n + 1 entries. `first_alarm[name]` is the 1-based step of its first
    verdict, or None. `peak` is the highest state at which the detector could have fired.
    """

    run: Trajectory
    scores: dict[str, list[float]]
    first_alarm: dict[str, int | None]
    peak: dict[str, float]
    peak_counts: dict[str, int]
    features: list[dict[str, float]] | None


def state_at(scores: Sequence[float], k: int) -> float:
    """The state after k steps; a run shorter than k is judged by its final state."""
    return scores[min(k, len(scores) - 1)]


def replay(run: Trajectory, settings: DetectorSettings, *, with_features: bool = False) -> Replay:
    detectors = build_detectors(settings, include_disabled=True)
    steps: list[Step] = []
    scores: dict[str, list[float]] = {}
    first: dict[str, int | None] = {}
    for detector in detectors:
        scores[detector.name] = [_score(detector, steps)]
        first[detector.name] = None
    combined = next((d for d in detectors if isinstance(d, CombinedDetector)), None)
    features = [combined.features(steps)] if combined is not None and with_features else None
    seen: set[str] = set()
    repeated = 0
    scores["run_length"] = [0.0]
    scores["repetition"] = [0.0]
    for position, step in enumerate(run.steps, start=1):
        steps.append(step)
        for detector in detectors:
            verdict = detector(steps)
            if verdict is not None and first[detector.name] is None:
                first[detector.name] = position
            scores[detector.name].append(_score(detector, steps))
        if features is not None and combined is not None:
            features.append(combined.features(steps))
        if step.action in seen:
            repeated += 1
        seen.add(step.action)
        scores["run_length"].append(float(position))
        scores["repetition"].append(float(repeated))
    peak: dict[str, float] = {}
    counts: dict[str, int] = {}
    for detector in detectors:
        series = scores[detector.name]
        if isinstance(detector, CombinedDetector):
            eligible = series[detector.settings.min_steps :]
            peak[detector.name] = max(eligible) if eligible else 0.0
        else:
            peak[detector.name] = series[-1]
        if isinstance(detector, CountingDetector):
            counts[detector.name] = detector.peak
    for name in BASELINES:
        peak[name] = scores[name][-1]
    return Replay(run, scores, first, peak, counts, features)


def _score(detector: object, steps: list[Step]) -> float:
    score = getattr(detector, "score", None)
    if score is None:
        return 0.0
    return float(score(steps))
