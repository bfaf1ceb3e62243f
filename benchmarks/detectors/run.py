"""Measure the loop/stall detectors and the combined score on labelled runs; print Markdown.

    PYTHONPATH=. .venv/bin/python benchmarks/detectors/run.py \
        [--data ../shared/data/trajectories/taubench_gpt4o_airline/gpt-4o-airline.json]

What it runs (the same code as `dispatcher detectors eval` / `calibrate --dry-run`):
1. the shipped default configuration, replayed on every run (`eval`);
2. grouped 5-fold cross-validation by task, 5 shuffled repeats, of the combined score fitted
   on all features (`calibrate`), and on the direction-safe features the defaults use;
3. the two baselines: run length, and naive repetition counting;
4. the detectors' cost per step in the worker loop (all of them, 4 kB observations), and the
   cost of reading progress signals from a 2 kB observation's text (`_observed_signals`).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from dispatcher.detectors import DetectorSettings, Step, build_detectors, format_action
from dispatcher.detectors._calibration import calibrate
from dispatcher.detectors._evaluation import evaluate
from dispatcher.detectors._features import DEFAULT_WEIGHTS
from dispatcher.detectors._observed_signals import signals_from_observation
from dispatcher.trajectories import load_trajectories

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: shared helpers

from _common import cpu_model

_TAU = "shared/data/trajectories/taubench_gpt4o_airline/gpt-4o-airline.json"
# ../shared beside the repository (CI's layout), else the nearest folder up that has it.
DEFAULT_DATA = next(
    (p / _TAU for p in Path(__file__).resolve().parents[2:] if (p / _TAU).is_file()),
    Path(__file__).resolve().parents[3] / _TAU,
)
STEPS = (5, 10, 20)


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _cv_row(name: str, cv: dict[str, Any]) -> str:
    cells = [f"{cv[f'auc@{k}']['mean']:.3f} ± {cv[f'auc@{k}']['sd']:.3f}" for k in STEPS]
    recall = cv["recall@fpr5"]
    far = cv["false_alarm_rate"]
    return (
        f"| {name} | {' | '.join(cells)} | {100 * recall['mean']:.1f}% | {100 * far['mean']:.1f}% |"
    )


def _overhead(steps: int = 1000, chars: int = 4000) -> tuple[float, float]:
    """Median seconds per step for all default detectors: early in a run, and late."""
    detectors = build_detectors()
    words = " ".join(f"w{i}" for i in range(chars // 4))
    seen: list[Step] = []
    times = []
    for i in range(steps):
        command = f"grep -rn name{i % 50} src/"
        seen.append(
            Step(
                index=i,
                action=format_action("bash", {"command": command}),
                observation=f"{words} match{i}",
                tool="bash",
                arguments={"command": command},
                error=i % 7 == 0,
            )
        )
        started = time.perf_counter()
        for detector in detectors:
            detector(seen)
        times.append(time.perf_counter() - started)
    early = sorted(times[10:110])[50]
    late = sorted(times[-100:])[50]
    return early, late


def _observed_cost(rounds: int = 15, calls: int = 2000) -> dict[str, float]:
    """Median seconds per `signals_from_observation` call on 2 kB texts stating no signal."""
    flights = [
        {"flight_number": f"HAT{i:03d}", "origin": "JFK", "destination": "LAX", "price": 120 + i}
        for i in range(60)
    ]
    texts = {
        "JSON tool result": json.dumps({"reservation_id": "ZFA04Y", "flights": flights}),
        "English text": "The agent looked up the reservation and found two later flights. " * 40,
        "Python source": Path(__file__).read_text(encoding="utf-8"),
    }
    costs = {}
    for name, text in texts.items():
        text = text[:2048]
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(calls):
                signals_from_observation(text, 'lookup({"id": 1})')
            samples.append((time.perf_counter() - started) / calls)
        costs[name] = statistics.median(samples)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    runs = load_trajectories(args.data)
    started = time.perf_counter()
    report = evaluate(runs, DetectorSettings(), STEPS)
    full = calibrate(runs, DetectorSettings(), steps=STEPS)
    safe = calibrate(runs, DetectorSettings(), steps=STEPS, features=list(DEFAULT_WEIGHTS))
    elapsed = time.perf_counter() - started
    early, late = _overhead()

    print(f"Data: `{args.data.name}`, {report['runs']['total']} runs ")
    print(f"({report['runs']['failed']} failed, {report['runs']['succeeded']} succeeded), ")
    groups, python = report["runs"]["groups"], platform.python_version()
    print(f"{groups} groups; Python {python}, CPU {cpu_model()}; ")
    print(f"{elapsed:.1f} s for the evaluation and both calibrations.\n")
    print("### Combined score, grouped 5-fold CV by task x 5 repeats (mean ± sd)\n")
    print("| model | AUC@5 | AUC@10 | AUC@20 | recall @ fitted 5% threshold | held-out FA |")
    print("|---|---|---|---|---|---|")
    print(_cv_row("combined, all features (`calibrate`)", full.cv))
    print(_cv_row("combined, direction-safe features (the defaults)", safe.cv))
    for name, baseline in full.baselines.items():
        cells = " | ".join(_f(baseline[f"auc@{k}"]) for k in STEPS)
        print(f"| baseline: {name.replace('_', ' ')} (no fit) | {cells} | | |")
    print("\n### Default configuration replayed on every run (`eval`)\n")
    print("| detector | AUC@5 | AUC@10 | AUC@20 | recall@fpr5 | false alarms | median 1st |")
    print("|---|---|---|---|---|---|---|")
    rows = {**report["detectors"], "combined (defaults, in-sample)": report["combined"]}
    rows.update({f"baseline: {k}": v for k, v in report["baselines"].items()})
    for name, m in rows.items():
        aucs = " | ".join(_f(m[f"auc@{k}"]) for k in STEPS)
        far = m["false_alarm_rate"]
        print(
            f"| {name} | {aucs} | {100 * m['recall@fpr5']:.1f}% | "
            f"{'-' if far is None else f'{100 * far:.1f}%'} | {_f(m['median_first_step'])} |"
        )
    print("\n### Rule thresholds `calibrate` fits on these runs (within 5% false alarms)\n")
    print("| detector | setting | value | false alarms | recall |")
    print("|---|---|---|---|---|")
    for name, rule in full.rules.items():
        print(
            f"| {name} | {rule['setting']} | {rule['value']} | "
            f"{100 * rule['false_alarm_rate']:.1f}% | {100 * rule['recall']:.1f}% |"
        )
    print("\n### Cost in the worker loop (all default detectors, 4 kB observations)\n")
    print(f"median {1e6 * early:.0f} us per step early in a run, {1e6 * late:.0f} us ")
    print("after 1000 steps.")
    costs = ", ".join(f"{name} {1e6 * cost:.1f} us" for name, cost in _observed_cost().items())
    print(f"\nReading signals from a 2 kB observation's text (median per call): {costs}.")


if __name__ == "__main__":
    main()
