"""`dispatcher detectors eval`: how well each detector's state predicts that a run fails.

Per detector (and the combined score), over labelled runs replayed through the configured
detectors:

- ``auc@K``: ROC AUC of "the run fails" from the detector's state after K steps (a run shorter
  than K is judged by its final state: it ended, so its state is final);
- ``recall@fpr5``: share of failed runs that would alarm at any step when the alarm threshold is
  set so that at most 5% of successful runs ever alarm;
- ``false_alarm_rate``: share of successful runs on which the configured detector fired;
- ``median_first_step``: median 1-based step of its first verdict on the failed runs it caught.

With ``strong_success`` on runs, the escalation view treats each first verdict as an
escalation to the strong model: rescued (failed run the strong model solves), unneeded (the
run succeeded anyway), futile (the strong model fails too), missed rescues, and the rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dispatcher.detectors._build import DETECTOR_NAMES
from dispatcher.detectors._metrics import auc, median, threshold_for_false_alarms
from dispatcher.detectors._replay import BASELINES, Replay, replay, state_at
from dispatcher.detectors._settings import DetectorSettings
from dispatcher.trajectories import Trajectory

__all__ = ["DEFAULT_STEPS", "escalation_view", "evaluate", "metrics_for"]

DEFAULT_STEPS = (5, 10, 20)
FALSE_ALARM_BUDGET = 0.05


def _round(value: float | None) -> float | None:
    if value is None or value != value:  # NaN: undefined (e.g. one class only)
        return None
    return round(value, 4)


def metrics_for(
    name: str, replays: Sequence[Replay], steps: Sequence[int], *, alarms: bool = True
) -> dict[str, Any]:
    """The four metrics for one detector (or baseline) over replayed runs."""
    failed = [r for r in replays if not r.run.success]
    passed = [r for r in replays if r.run.success]
    result: dict[str, Any] = {}
    for k in steps:
        result[f"auc@{k}"] = _round(
            auc(
                [state_at(r.scores[name], k) for r in failed],
                [state_at(r.scores[name], k) for r in passed],
            )
        )
    threshold = threshold_for_false_alarms([r.peak[name] for r in passed], FALSE_ALARM_BUDGET)
    caught = sum(1 for r in failed if r.peak[name] >= threshold)
    result["recall@fpr5"] = _round(caught / len(failed) if failed else None)
    if alarms:
        fired = [r.first_alarm[name] for r in passed]
        result["false_alarm_rate"] = _round(
            sum(1 for f in fired if f is not None) / len(passed) if passed else None
        )
        firsts = [f for r in failed if (f := r.first_alarm[name]) is not None]
        result["median_first_step"] = median(firsts)
    else:
        result["false_alarm_rate"] = None
        result["median_first_step"] = None
    return result


def escalation_view(name: str, replays: Sequence[Replay]) -> dict[str, Any] | None:
    """Escalating at the first verdict: which escalations a strong model would have rescued."""
    known = [r for r in replays if r.run.strong_success is not None]
    if not known:
        return None
    rescued = unneeded = futile = missed = escalated = 0
    for r in known:
        fired = r.first_alarm[name] is not None
        escalated += fired
        if r.run.success:
            unneeded += fired
        elif r.run.strong_success:
            rescued += fired
            missed += not fired
        else:
            futile += fired
    return {
        "runs": len(known),
        "escalations": escalated,
        "escalation_rate": _round(escalated / len(known)),
        "rescued": rescued,
        "wasted": unneeded + futile,
        "unneeded": unneeded,
        "futile": futile,
        "missed_rescues": missed,
    }


def evaluate(
    runs: Sequence[Trajectory],
    settings: DetectorSettings,
    steps: Sequence[int] = DEFAULT_STEPS,
) -> dict[str, Any]:
    """The report `dispatcher detectors eval --json` prints."""
    replays = [replay(run, settings) for run in runs]
    rules = [name for name in DETECTOR_NAMES if name != "combined"]
    report: dict[str, Any] = {
        "detectors": {name: metrics_for(name, replays, steps) for name in rules},
        "combined": metrics_for("combined", replays, steps),
        "baselines": {name: metrics_for(name, replays, steps, alarms=False) for name in BASELINES},
        "runs": {
            "total": len(runs),
            "failed": sum(1 for r in runs if not r.success),
            "succeeded": sum(1 for r in runs if r.success),
            "groups": len({r.group for r in runs}),
            "median_steps": median([len(r.steps) for r in runs]),
        },
    }
    views = {name: escalation_view(name, replays) for name in (*rules, "combined")}
    if any(view is not None for view in views.values()):
        report["escalation"] = views
    return report
