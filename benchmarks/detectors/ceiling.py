"""How well can anything read from a run's process predict its failure? (issue 14, round 3)

    PYTHONPATH=. .venv/bin/python benchmarks/detectors/ceiling.py [--repeats 5]

A detector at step K sees less than the whole run, so a model over the *whole* run (every
step, and for SWE-bench also the final submitted diff and the run's cost) bounds what any model
of the same kind can reach at step 20. This script measures that bound with grouped CV (by
instance and by repository on SWE-bench, by task on tau-bench; everything fitted on training
folds only; penalties fixed in advance) for three feature sets:

- `run features`: the 18 combined-score features (docs/detectors.md);
- `+ coding extras`: the agent's own text volume and uncertainty words, navigation commands
  (grep/find/ls, sed -n/cat/head/tail), distinct files named, edits, test-suite runs that
  passed or failed;
- `+ submission` (SWE-bench only): files, hunks, added and removed lines, new files of the
  final diff, and the run's API cost (both unknown before the run ends).

Each set is scored at step 20 (the issue's target point) and at the end of the run, with an L2
logistic (two penalties) and a kNN over standardised features. Prints a Markdown table
(benchmarks/detectors/RESULTS.md, "What the process can tell").
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learned import DATA, Array, _fit_gd, cross_validate, knn_model, repository

from dispatcher.detectors._coding import count_hedges
from dispatcher.detectors._combined import CombinedDetector
from dispatcher.detectors._features import FEATURE_NAMES
from dispatcher.trajectories import Trajectory, load_trajectories, read_labels

END = 10_000  # "the end of the run": longer than any run
POINTS = (20, END)
_NAVIGATE = re.compile(r"^\s*(?:grep|find|ls|rg)\b")
_VIEW = re.compile(r"^\s*(?:sed -n|cat |head|tail|nl )")
_SUITE = re.compile(r"\b(?:pytest|runtests\.py|manage\.py test|unittest|tox)\b")
_EDIT = re.compile(r"sed -i|cat <<|cat >|tee |patch |git apply")
_PY_FILE = re.compile(r"[\w/]+\.py\b")


def _extras(run: Trajectory, k: int) -> list[float]:
    steps = run.steps[:k]
    text = " ".join(s.text for s in steps)
    suite = [s for s in steps if _SUITE.search(s.action)]
    return [
        math.log1p(len(text)),
        float(sum(count_hedges(s.text) for s in steps)),
        float(sum(bool(_NAVIGATE.match(s.action)) for s in steps)),
        float(sum(bool(_VIEW.match(s.action)) for s in steps)),
        float(len({p for s in steps for p in _PY_FILE.findall(s.action)})),
        float(sum(bool(_EDIT.search(s.action)) for s in steps)),
        float(sum(not s.error for s in suite)),
        float(sum(s.error for s in suite)),
    ]


def _submission(folder: Path, run: Trajectory) -> list[float]:
    info = json.loads((folder / f"{run.id}.traj.json").read_text())["info"]
    diff = str(info.get("submission") or "")
    cost = float((info.get("model_stats") or {}).get("instance_cost") or 0.0)
    return [
        float(len(re.findall(r"^diff --git", diff, re.M))),
        float(diff.count("\n@@")),
        math.log1p(len(re.findall(r"^\+(?!\+\+)", diff, re.M))),
        math.log1p(len(re.findall(r"^-(?!--)", diff, re.M))),
        float(diff.count("new file mode")),
        math.log1p(cost),
    ]


def _feature_sets(
    runs: Sequence[Trajectory], submissions: Array | None
) -> dict[str, dict[int, Array]]:
    base: dict[int, list[list[float]]] = {k: [] for k in POINTS}
    extra: dict[int, list[list[float]]] = {k: [] for k in POINTS}
    for run in runs:
        detector = CombinedDetector()
        for k in POINTS:
            values = detector.features(run.steps[: max(1, min(k, len(run.steps)))])
            base[k].append([values[n] for n in FEATURE_NAMES])
            extra[k].append(_extras(run, k))
    sets = {
        "run features": {k: np.array(base[k]) for k in POINTS},
        "+ coding extras": {k: np.hstack([base[k], extra[k]]) for k in POINTS},
    }
    if submissions is not None:
        # The diff and the cost are only known at the end: at step 20 they are not used.
        sets["+ submission"] = {
            END: np.hstack([sets["+ coding extras"][END], submissions]),
        }
    return sets


def logistic(vectors: dict[int, Array], y: Array, l2: float) -> Callable[..., dict[int, Array]]:
    def model(train: list[int], test: list[int]) -> dict[int, Array]:
        out = {}
        for k, x in vectors.items():
            mean, scale = x[train].mean(0), x[train].std(0)
            scale[scale < 1e-9] = 1.0
            w, b = _fit_gd((x[train] - mean) / scale, y[train], l2, iterations=800)
            out[k] = ((x[test] - mean) / scale) @ w + b
        return out

    return model


def _rows(
    data: str,
    runs: Sequence[Trajectory],
    sets: dict[str, dict[int, Array]],
    keys: dict[str, Callable[[Trajectory], str]],
    repeats: int,
) -> None:
    y = np.array([0.0 if r.success else 1.0 for r in runs])
    for set_name, vectors in sets.items():
        models = {
            "L2 logistic (l2 0.01)": logistic(vectors, y, 0.01),
            "L2 logistic (l2 0.1)": logistic(vectors, y, 0.1),
            "kNN (k 40)": _knn(vectors, y),
        }
        for model_name, model in models.items():
            for split, key in keys.items():
                result = _cv(runs, y, model, key, repeats, tuple(vectors))
                cells = " | ".join(
                    f"{result[k][0]:.3f} ± {result[k][1]:.3f}" if k in result else "-"
                    for k in POINTS
                )
                print(f"| {data} | {set_name} | {model_name} | {split} | {cells} |", flush=True)


def _knn(vectors: dict[int, Array], y: Array) -> Callable[..., dict[int, Array]]:
    def model(train: list[int], test: list[int]) -> dict[int, Array]:
        # knn_model fits its scale at one step; fit each point on its own features.
        return {
            k: knn_model({20: x}, y, 40, cosine=False)(train, test)[20] for k, x in vectors.items()
        }

    return model


def _cv(
    runs: Sequence[Trajectory],
    y: Array,
    model: Callable[..., dict[int, Array]],
    key: Callable[[Trajectory], str],
    repeats: int,
    points: tuple[int, ...],
) -> dict[int, tuple[float, float]]:
    return cross_validate(runs, y, model, key, repeats, points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| data | features | model | split | AUC@20 | AUC at the end |")
    print("|---|---|---|---|---|---|")
    folder = DATA / "swe_gemini3pro_miniswe"
    runs = load_trajectories(folder / "trajs", labels=read_labels(folder / "labels.jsonl"))
    submissions = np.array([_submission(folder / "trajs", r) for r in runs])
    keys = {"instance": lambda r: r.group, "repository": repository}
    _rows("SWE-bench gemini", runs, _feature_sets(runs, submissions), keys, args.repeats)
    runs = load_trajectories(DATA / "taubench_gpt4o_airline/gpt-4o-airline.json")
    _rows("tau-bench airline", runs, _feature_sets(runs, None), {"task": lambda r: r.group},
          args.repeats)  # fmt: skip


if __name__ == "__main__":
    main()
