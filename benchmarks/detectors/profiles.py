"""Detector profiles on every labelled data set, and grouped CV of the profiles' scores.

    PYTHONPATH=. .venv/bin/python benchmarks/detectors/profiles.py [--repeats 5]

Prints the Markdown tables of benchmarks/detectors/RESULTS.md ("Profiles"). The same numbers
through the CLI (paths relative to the repository root, data beside it in ../shared):

    dispatcher detectors eval --data ../shared/data/trajectories/swe_gemini3pro_miniswe/trajs \\
        --labels ../shared/data/trajectories/swe_gemini3pro_miniswe/labels.jsonl \\
        --profile coding --steps 5,10,20,40 --json
    dispatcher detectors calibrate --data ...same... --labels ...same... --profile coding \\
        --steps 5,10,20,40 --dry-run [--group-by repository]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from dispatcher.detectors import DetectorSettings
from dispatcher.detectors._calibration import calibrate
from dispatcher.detectors._evaluation import evaluate
from dispatcher.detectors._profiles import PROFILES
from dispatcher.trajectories import Trajectory, load_trajectories, read_labels

# ../shared beside the repository (CI's layout), else the nearest folder up that has it.
DATA = next(
    (p / "shared/data/trajectories" for p in Path(__file__).resolve().parents[2:]
     if (p / "shared/data/trajectories").is_dir()),
    Path(__file__).resolve().parents[3] / "shared/data/trajectories",
)  # fmt: skip
STEPS = (5, 10, 20, 40)


def _datasets() -> dict[str, list[Trajectory]]:
    gemini = DATA / "swe_gemini3pro_miniswe"
    return {
        "SWE-bench, gemini-3-pro + mini-swe-agent (450 runs)": load_trajectories(
            gemini / "trajs", labels=read_labels(gemini / "labels.jsonl")
        ),
        "tau-bench airline, gpt-4o (200 runs)": load_trajectories(
            DATA / "taubench_gpt4o_airline/gpt-4o-airline.json"
        ),
    }


def _f(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    return (
        f"{100 * value:.1f}%"
        if percent
        else f"{value:.3f}"
        if isinstance(value, float)
        else str(value)
    )


def _cv(runs: list[Trajectory], profile: str, repeats: int) -> dict[str, Any]:
    base = DetectorSettings.from_mapping({"profile": profile})
    features = list(base.combined.weights)
    return calibrate(runs, base, steps=STEPS, features=features, repeats=repeats).cv


def _step_n_policy(runs: list[Trajectory], budget: float) -> tuple[int, float, float]:
    """The smallest N at which at most `budget` of successful runs reach step N."""
    good = [len(r.steps) for r in runs if r.success]
    bad = [len(r.steps) for r in runs if not r.success]
    n = next(n for n in range(1, max(good) + 2) if sum(g >= n for g in good) <= budget * len(good))
    return n, sum(g >= n for g in good) / len(good), sum(b >= n for b in bad) / len(bad)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sets = _datasets()
    print("### Shipped profiles replayed on every run (`detectors eval --profile NAME`)\n")
    print("| data | profile | FA (successful runs) | recall (failed runs) | median 1st alarm "
          "| combined AUC@5/10/20/40 | alarm step @5% / @10% FA |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, runs in sets.items():
        for profile in PROFILES:
            settings = DetectorSettings.from_mapping({"profile": profile})
            report = evaluate(runs, settings, STEPS, all_profiles=False)
            p, c = report["profile"], report["combined"]
            aucs = " / ".join(_f(c[f"auc@{k}"]) for k in STEPS)
            print(f"| {name} | {profile} | {_f(p['false_alarm_rate'], True)} | "
                  f"{_f(p['recall'], True)} | {_f(p['median_first_step'])} | "
                  f"{aucs if profile not in ('default', 'sql') else '(off)'} | "
                  f"{_f(p['alarm_step@fpr5'])} / {_f(p['alarm_step@fpr10'])} |")  # fmt: skip
    print("\n### Baseline policy: escalate when the run reaches step N\n")
    print("| data | FA budget | N | FA | recall |")
    print("|---|---|---|---|---|")
    for name, runs in sets.items():
        for budget in (0.05, 0.10):
            n, far, recall = _step_n_policy(runs, budget)
            print(f"| {name} | {budget:.0%} | {n} | {_f(far, True)} | {_f(recall, True)} |")
    gemini, tau = sets.values()
    by_repo = [replace(r, group=r.group.rsplit("-", 1)[0]) for r in gemini]
    rows = [
        ("SWE-bench gemini, by instance", "coding", gemini),
        ("SWE-bench gemini, by repository", "coding", by_repo),
        ("tau-bench airline, by task", "tool_use", tau),
    ]
    print(f"\n### Grouped 5-fold CV x {args.repeats} repeats of the profile's combined score "
          "(fitted on training folds only; mean ± sd)\n")  # fmt: skip
    print("| split | profile features | " + " | ".join(f"AUC@{k}" for k in STEPS)
          + " | recall @ fitted 5% | held-out FA | median 1st alarm |")  # fmt: skip
    print("|---|---|" + "---|" * (len(STEPS) + 3))
    for label, profile, runs in rows:
        folds = min(5, len({r.group for r in runs}))
        cv = _cv(runs, profile, args.repeats) if folds == 5 else {}
        cells = [f"{cv[f'auc@{k}']['mean']:.3f} ± {cv[f'auc@{k}']['sd']:.3f}" for k in STEPS]
        recall, far = cv["recall@fpr5"]["mean"], cv["false_alarm_rate"]["mean"]
        print(f"| {label} | {profile} | {' | '.join(cells)} | {_f(recall, True)} | "
              f"{_f(far, True)} | {_f(cv.get('median_first_step', {}).get('mean'))} |")  # fmt: skip


if __name__ == "__main__":
    main()
