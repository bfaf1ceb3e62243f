"""`dispatcher detectors eval`: how well each detector's state predicts that a run fails.

Per detector (and the combined score), over labelled runs replayed through the configured
detectors:

- ``auc@K``: ROC AUC of "the run fails" from the detector's state after K steps (a run shorter
  than K is judged by its final state: it ended, so its state is final);
- ``recall@fpr5``: share of failed runs that would alarm at any step when the alarm threshold is
  set so that at most 5% of successful runs ever alarm;
- ``false_alarm_rate``: share of successful runs on which the configured detector fired;
- ``median_first_step``: median 1-based step of its first verdict on the failed runs it caught.

The ``profile`` section is the policy the worker runs: an alarm is the first verdict of any
detector the settings switch on. It reports that policy's false alarms and recall, and the
accuracy-vs-earliness trade-off of its combined score: the median step at which failed runs
alarm when the threshold is set for at most 5% and 10% false alarms (``alarm_step@fpr5``,
``alarm_step@fpr10``; the threshold is set on these same runs, so this is a curve point).

With ``strong_success`` on runs, ``escalation`` treats the policy's first alarm as an
escalation to the strong model: ``rescuable`` failed runs whose task the strong model solved,
``rescued`` those the policy escalated, ``wasted`` escalations that could not help (the run
succeeded anyway, or the strong model fails too), ``successes_escalated`` the share of
successful runs escalated. ``escalation_by_detector`` breaks it down per detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dispatcher.detectors._build import DETECTOR_NAMES, build_detectors
from dispatcher.detectors._metrics import auc, median, threshold_for_false_alarms
from dispatcher.detectors._profiles import PROFILES
from dispatcher.detectors._replay import BASELINES, Replay, replay, state_at
from dispatcher.detectors._settings import DetectorSettings
from dispatcher.trajectories import Trajectory

__all__ = [
    "DEFAULT_STEPS",
    "escalation_view",
    "evaluate",
    "metrics_for",
    "policy_alarms",
    "policy_escalation",
]

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


def policy_alarms(
    replays: Sequence[Replay], enabled: Sequence[str]
) -> list[tuple[int | None, str | None]]:
    """Per run: the first step at which any enabled detector fired, and which one."""
    order = [name for name in DETECTOR_NAMES if name in enabled]
    out: list[tuple[int | None, str | None]] = []
    for r in replays:
        best: tuple[int | None, str | None] = (None, None)
        for name in order:
            step = r.first_alarm.get(name)
            if step is not None and (best[0] is None or step < best[0]):
                best = (step, name)
        out.append(best)
    return out


def policy_escalation(
    replays: Sequence[Replay], alarms: Sequence[tuple[int | None, str | None]]
) -> dict[str, Any] | None:
    """Escalating at the policy's first alarm: rescued, wasted, successes escalated."""
    known = [
        (r, a[0]) for r, a in zip(replays, alarms, strict=True) if r.run.strong_success is not None
    ]
    if not known:
        return None
    rescuable = [(r, a) for r, a in known if not r.run.success and r.run.strong_success]
    successes = [a for r, a in known if r.run.success]
    wasted = sum(
        1 for r, a in known if a is not None and (r.run.success or not r.run.strong_success)
    )
    return {
        "runs": len(known),
        "rescuable": len(rescuable),
        "rescued": sum(1 for _, a in rescuable if a is not None),
        "wasted": wasted,
        "successes_escalated": _round(
            sum(1 for a in successes if a is not None) / len(successes) if successes else None
        ),
    }


def _alarm_step_at(replays: Sequence[Replay], rate: float, min_steps: int) -> float | None:
    """Median first step of failed runs' combined-score alarms at a `rate` FA threshold."""
    passed = [r.scores["combined"][min_steps:] for r in replays if r.run.success]
    threshold = threshold_for_false_alarms([max(s) if s else 0.0 for s in passed], rate)
    firsts = []
    for r in replays:
        if r.run.success:
            continue
        series = r.scores["combined"]
        hit = next((i for i in range(min_steps, len(series)) if series[i] >= threshold), None)
        if hit is not None:
            firsts.append(hit)
    return median(firsts)


def _profile_view(
    settings: DetectorSettings,
    replays: Sequence[Replay],
    alarms: Sequence[tuple[int | None, str | None]],
    enabled: Sequence[str],
) -> dict[str, Any]:
    failed = [a for r, (a, _) in zip(replays, alarms, strict=True) if not r.run.success]
    passed = [a for r, (a, _) in zip(replays, alarms, strict=True) if r.run.success]
    min_steps = settings.combined.min_steps
    scored = settings.combined.enabled  # a profile without the combined score has no curve
    return {
        "name": settings.profile or "custom",
        "detectors": list(enabled),
        "false_alarm_rate": _round(
            sum(a is not None for a in passed) / len(passed) if passed else None
        ),
        "recall": _round(sum(a is not None for a in failed) / len(failed) if failed else None),
        "median_first_step": median([a for a in failed if a is not None]),
        "alarm_step@fpr5": _alarm_step_at(replays, 0.05, min_steps) if scored else None,
        "alarm_step@fpr10": _alarm_step_at(replays, 0.10, min_steps) if scored else None,
    }


def _shipped_profile(runs: Sequence[Trajectory], name: str) -> dict[str, Any]:
    settings = DetectorSettings.from_mapping({"profile": name})
    replays = [replay(run, settings) for run in runs]
    enabled = [d.name for d in build_detectors(settings)]
    view = _profile_view(settings, replays, policy_alarms(replays, enabled), enabled)
    view.pop("name")
    return view


def evaluate(
    runs: Sequence[Trajectory],
    settings: DetectorSettings,
    steps: Sequence[int] = DEFAULT_STEPS,
    *,
    runs_out: list[dict[str, Any]] | None = None,
    all_profiles: bool = True,
) -> dict[str, Any]:
    """The report `dispatcher detectors eval --json` prints.

    `runs_out`, when given, receives one ``{"id", "success", "first_alarm_step", "detector"}``
    per run: the policy's first alarm. `all_profiles` adds ``profiles``: the same policy view
    for every shipped profile, so one command shows the whole trade-off.
    """
    replays = [replay(run, settings) for run in runs]
    enabled = [d.name for d in build_detectors(settings)]
    alarms = policy_alarms(replays, enabled)
    if runs_out is not None:
        runs_out.extend(
            {"id": r.run.id, "success": r.run.success, "first_alarm_step": a, "detector": d}
            for r, (a, d) in zip(replays, alarms, strict=True)
        )
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
        "profile": _profile_view(settings, replays, alarms, enabled),
    }
    if all_profiles:
        report["profiles"] = {name: _shipped_profile(runs, name) for name in PROFILES}
    escalation = policy_escalation(replays, alarms)
    if escalation is not None:
        report["escalation"] = escalation
        report["escalation_by_detector"] = {
            name: escalation_view(name, replays) for name in (*rules, "combined")
        }
    return report
