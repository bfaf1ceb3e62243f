"""`dispatcher detectors calibrate`: fit thresholds and the combined score on labelled runs.

1. Rule detectors: for each, the quickest threshold (lowest count, not below a floor) whose
   false-alarm rate on successful runs stays within the budget.
2. Combined score: an L2-regularised logistic regression over the run features at step
   `fit_step` (a shorter run contributes its final state), standardised inside the fit and
   folded back into plain weights; its threshold is the lowest probability at which at most the
   budget of successful runs ever alarm.
3. Honest estimates: grouped K-fold cross-validation by `group` (all runs of a task in the
   same fold), repeated with different shuffles. Everything is fitted on the training folds
   only (standardisation, weights, thresholds) and measured on the held-out fold.

numpy is needed here only; the detectors the worker runs are pure Python.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dispatcher.detectors._features import FEATURE_NAMES
from dispatcher.detectors._metrics import auc, median, threshold_for_false_alarms
from dispatcher.detectors._replay import Replay, replay, state_at
from dispatcher.detectors._settings import DetectorSettings, merge
from dispatcher.errors import ConfigError, DataError
from dispatcher.trajectories import Trajectory

__all__ = ["RULE_GRIDS", "Calibration", "LogisticModel", "calibrate", "fit_logistic"]

# (settings section, field, detector, lowest count tried, highest count tried)
RULE_GRIDS: tuple[tuple[str, str, str, int, int], ...] = (
    ("loop", "repeats", "loop.repeat", 3, 10),
    ("loop", "failing_repeats", "loop.failing", 2, 8),
    ("loop", "alternation_cycles", "loop.alternation", 2, 6),
    ("loop", "monologue_repeats", "loop.monologue", 2, 6),
    ("loop", "navigation_streak", "loop.navigation", 6, 40),
    ("stall", "patience", "stall", 3, 30),
    ("stall", "test_runs", "stall.tests", 2, 10),
)


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "calibration needs numpy",
            fix='pip install -e ".[embeddings]" (from the dispatcher repository root), '
            "or pip install numpy",
        ) from None
    return numpy


@dataclass(frozen=True, slots=True)
class LogisticModel:
    """Raw-feature weights (standardisation folded in), bias and alarm threshold."""

    weights: dict[str, float]
    bias: float
    threshold: float = 0.5

    def probabilities(self, rows: Sequence[dict[str, float]]) -> list[float]:
        out = []
        for row in rows:
            z = self.bias + sum(w * row[name] for name, w in self.weights.items())
            out.append(1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0)
        return out


def fit_logistic(
    rows: Sequence[dict[str, float]], labels: Sequence[int], features: Sequence[str], l2: float
) -> LogisticModel:
    """Newton's method on the L2-penalised log loss (the intercept is not penalised)."""
    np = _numpy()
    x = np.array([[row[name] for name in features] for row in rows], dtype=float)
    y = np.array(labels, dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0  # a constant feature gets no weight (its z-score is 0)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    penalty = np.eye(z.shape[1]) * l2
    penalty[-1, -1] = 0.0
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty + np.eye(len(w)) * 1e-9
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    raw = w[:-1] / scale
    bias = float(w[-1] - (raw * mean).sum())
    return LogisticModel({name: float(v) for name, v in zip(features, raw, strict=True)}, bias)


@dataclass
class Calibration:
    """The fitted settings and the cross-validated metrics that justify them."""

    settings: DetectorSettings
    rules: dict[str, dict[str, Any]]
    cv: dict[str, Any]
    baselines: dict[str, dict[str, float | None]]
    notes: list[str] = field(default_factory=list)


def _group_folds(runs: Sequence[Trajectory], folds: int, seed: int) -> list[set[str]]:
    groups = sorted({r.group for r in runs})
    random.Random(seed).shuffle(groups)
    return [set(groups[i::folds]) for i in range(folds)]


def _rule_threshold(peaks: Sequence[int], low: int, high: int, budget: float) -> tuple[int, float]:
    """The lowest count in [low, high] whose false-alarm rate stays within budget.

    Conservative like the combined threshold: one alarm fewer than the budget allows.
    """
    allowed = max(0, math.floor(budget * (len(peaks) + 1) + 1e-9) - 1)
    for count in range(low, high + 1):
        alarms = sum(1 for p in peaks if p >= count)
        if alarms <= allowed:
            return count, alarms / len(peaks)
    return high, sum(1 for p in peaks if p >= high) / len(peaks)


def state_at_features(r: Replay, k: int) -> dict[str, float]:
    assert r.features is not None
    return r.features[min(k, len(r.features) - 1)]


def _peak_probability(model: LogisticModel, r: Replay, min_steps: int) -> float:
    assert r.features is not None
    eligible = r.features[min_steps:]
    return max(model.probabilities(eligible)) if eligible else 0.0


def _first_alarm(model: LogisticModel, r: Replay, min_steps: int) -> int | None:
    assert r.features is not None
    for position, p in enumerate(model.probabilities(r.features)):
        if position >= min_steps and p >= model.threshold:
            return position
    return None


def _fit_weights(
    train: Sequence[Replay], features: Sequence[str], horizons: Sequence[int], l2: float
) -> LogisticModel:
    """Fit on each run's state at every horizon (the score is used at every step)."""
    rows = [state_at_features(r, k) for k in horizons for r in train]
    labels = [0 if r.run.success else 1 for _ in horizons for r in train]
    return fit_logistic(rows, labels, features, l2)


def _fit_combined(
    train: Sequence[Replay],
    features: Sequence[str],
    horizons: Sequence[int],
    l2: float,
    budget: float,
    min_steps: int,
    *,
    inner_folds: int = 5,
) -> LogisticModel:
    """Weights from all of `train`; the threshold from out-of-fold scores within `train`.

    In-sample probabilities of a fitted model are optimistic (its own successful runs look
    safer than new ones), so the alarm threshold is set on scores each run got from a model
    that did not see its group: that is what a new task will look like.
    """
    model = _fit_weights(train, features, horizons, l2)
    peaks: list[float] = []
    groups = {r.run.group for r in train}
    for fold in _group_folds([r.run for r in train], min(inner_folds, len(groups)), 7):
        inner = [r for r in train if r.run.group not in fold]
        labels = {r.run.success for r in inner}
        held = [r for r in train if r.run.group in fold and r.run.success]
        if len(labels) < 2 or not held:
            continue
        fold_model = _fit_weights(inner, features, horizons, l2)
        peaks.extend(_peak_probability(fold_model, r, min_steps) for r in held)
    threshold = threshold_for_false_alarms(peaks, budget)
    threshold = min(max(threshold, 1e-6), 1 - 1e-9)
    return LogisticModel(model.weights, model.bias, threshold)


def calibrate(
    runs: Sequence[Trajectory],
    base: DetectorSettings,
    *,
    max_false_alarms: float = 0.05,
    steps: Sequence[int] = (5, 10, 20),
    fit_steps: Sequence[int] | None = None,
    features: Sequence[str] | None = None,
    l2: float = 30.0,
    folds: int = 5,
    repeats: int = 5,
    seed: int = 0,
) -> Calibration:
    """Fit on all runs, and estimate how the fit does on unseen tasks by grouped CV."""
    chosen = list(features) if features else list(FEATURE_NAMES)
    unknown = [f for f in chosen if f not in FEATURE_NAMES]
    if unknown:
        raise ConfigError(
            f"unknown feature(s) {', '.join(unknown)}",
            field="--features",
            fix=f"choose from {', '.join(FEATURE_NAMES)}",
        )
    if not (math.isfinite(l2) and l2 >= 0):
        raise ConfigError(
            f"--l2 must be a finite number >= 0, got {l2}",
            field="--l2",
            fix="e.g. --l2 30 (larger: weights nearer 0; 0: no penalty)",
        )
    groups = {r.group for r in runs}
    if len(groups) < folds:
        raise DataError(
            f"{len(groups)} groups cannot make {folds} cross-validation folds: "
            "use --folds with at most the number of groups, or add runs of other tasks"
        )
    horizons = list(fit_steps) if fit_steps else list(steps)
    min_steps = base.combined.min_steps
    if not any(len(run.steps) >= min_steps for run in runs if run.success):
        # The combined score's threshold is set on successful runs' scores after min_steps.
        raise DataError(
            f"no successful run has combined.min_steps ({min_steps}) steps or more: the "
            "combined score's alarm threshold would rest on no scores; add longer successful "
            "runs (or lower combined.min_steps in the config)"
        )
    replays = [replay(run, base, with_features=True) for run in runs]
    passed = [r for r in replays if r.run.success]
    # 1. Rule thresholds, on all runs.
    rules: dict[str, dict[str, Any]] = {}
    patch: dict[str, dict[str, Any]] = {"loop": {}, "stall": {}}
    for section, key, name, low, high in RULE_GRIDS:
        count, rate = _rule_threshold(
            [r.peak_counts[name] for r in passed], low, high, max_false_alarms
        )
        failed = [r for r in replays if not r.run.success]
        if all(r.peak_counts[name] == 0 for r in replays):
            # The pattern never occurs in these runs (e.g. no test signals): nothing to fit.
            count = getattr(getattr(base, section), key)
            rules[name] = {
                "setting": f"{section}.{key}",
                "value": count,
                "false_alarm_rate": 0.0,
                "recall": 0.0,
                "note": "not seen in the data: kept",
            }
            continue
        recall = sum(1 for r in failed if r.peak_counts[name] >= count) / len(failed)
        patch[section][key] = count
        rules[name] = {
            "setting": f"{section}.{key}",
            "value": count,
            "false_alarm_rate": round(rate, 4),
            "recall": round(recall, 4),
        }
    # 2. The combined score, on all runs.
    final = _fit_combined(replays, chosen, horizons, l2, max_false_alarms, min_steps)
    patch_combined = {
        "weights": {name: round(w, 6) for name, w in final.weights.items()},
        "bias": round(final.bias, 6),
        "threshold": round(final.threshold, 6),
        "enabled": True,  # fitted to be used, also where the base profile had it off
    }
    settings = merge(base, {**patch, "combined": patch_combined})
    # 3. Grouped cross-validation of both.
    cv = _cross_validate(
        replays, chosen, steps, horizons, l2, max_false_alarms, min_steps, folds, repeats, seed
    )
    baselines = {
        name: {
            f"auc@{s}": _rounded(
                auc(
                    [state_at(r.scores[name], s) for r in replays if not r.run.success],
                    [state_at(r.scores[name], s) for r in passed],
                )
            )
            for s in steps
        }
        for name in ("run_length", "repetition")
    }
    return Calibration(settings, rules, cv, baselines)


def _rounded(value: float) -> float | None:
    return None if value != value else round(value, 4)


def _cross_validate(
    replays: Sequence[Replay],
    features: Sequence[str],
    steps: Sequence[int],
    horizons: Sequence[int],
    l2: float,
    budget: float,
    min_steps: int,
    folds: int,
    repeats: int,
    seed: int,
) -> dict[str, Any]:
    per_repeat: dict[str, list[float]] = {}

    def record(key: str, value: float) -> None:
        per_repeat.setdefault(key, []).append(value)

    for repeat in range(repeats):
        held: dict[str, dict[int, float]] = {}
        alarms: dict[str, int | None] = {}
        peaks_ok: dict[str, bool] = {}
        rule_hits: dict[str, dict[str, bool]] = {}
        for fold in _group_folds([r.run for r in replays], folds, seed + repeat):
            train = [r for r in replays if r.run.group not in fold]
            test = [r for r in replays if r.run.group in fold]
            model = _fit_combined(train, features, horizons, l2, budget, min_steps)
            train_passed = [r for r in train if r.run.success]
            counts = {
                name: _rule_threshold(
                    [r.peak_counts[name] for r in train_passed], low, high, budget
                )[0]
                for _, _, name, low, high in RULE_GRIDS
            }
            for r in test:
                assert r.features is not None
                probabilities = model.probabilities(r.features)
                held[r.run.id] = {s: state_at(probabilities, s) for s in steps}
                alarms[r.run.id] = _first_alarm(model, r, min_steps)
                peaks_ok[r.run.id] = _peak_probability(model, r, min_steps) >= model.threshold
                rule_hits[r.run.id] = {
                    name: r.peak_counts[name] >= count for name, count in counts.items()
                }
        failed = [r for r in replays if not r.run.success]
        passed = [r for r in replays if r.run.success]
        for s in steps:
            record(
                f"auc@{s}",
                auc([held[r.run.id][s] for r in failed], [held[r.run.id][s] for r in passed]),
            )
        record("recall@fpr5", sum(peaks_ok[r.run.id] for r in failed) / len(failed))
        record("false_alarm_rate", sum(peaks_ok[r.run.id] for r in passed) / len(passed))
        firsts = [a for r in failed if (a := alarms[r.run.id]) is not None]
        first = median(firsts)
        if first is not None:
            record("median_first_step", first)
        for name in rule_hits[replays[0].run.id]:
            record(f"{name}.recall", sum(rule_hits[r.run.id][name] for r in failed) / len(failed))
            record(
                f"{name}.false_alarm_rate",
                sum(rule_hits[r.run.id][name] for r in passed) / len(passed),
            )
    summary: dict[str, Any] = {"folds": folds, "repeats": repeats, "fit_steps": list(horizons)}
    for key, values in per_repeat.items():
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        summary[key] = {"mean": round(mean, 4), "sd": round(sd, 4)}
    return summary
