"""Learned failure predictors for coding runs, measured by grouped CV (issue 14, round 2).

    PYTHONPATH=. .venv/bin/python benchmarks/detectors/learned.py [--repeats 3] [--data all]
        [--minilm] [--only PREFIX] [--in-sample]

Prints the Markdown table of benchmarks/detectors/RESULTS.md ("Learned hazard scores"). Every
model is scored at each run's state after K steps (a shorter run by its final state) and
measured on held-out folds of a grouped 5-fold split, by instance and by repository (all runs
of a repository in one fold: the transfer to unseen repositories). Everything fitted is fitted
on the training folds only: the vocabulary and its IDF weights, the standardisation, the
logistic weights, the neighbours. The L2 penalties and neighbour counts are fixed in advance
(listed in each row), not chosen on the test folds.

Models:
- `rules`: the profile's combined-score features (round 1; `coding` on SWE-bench, `tool_use`
  on tau-bench), L2 logistic refitted on the training folds: the baseline to beat.
- `words, actions` / `words, agent text` / `words, actions + outputs`: bag of words of the
  first K steps (command verbs and arguments; the agent's own reasoning; tool output), log
  counts x IDF, L2-normalised per run, L2 logistic (numpy, gradient descent).
- `shape kNN`: nearest neighbours (Euclidean, standardised) over all run features at step K;
  the score is the failure share of the k nearest training runs.
- `minilm task` / `minilm thoughts` (with --minilm, ~8 min on 2 cores): all-MiniLM-L6-v2
  embeddings of the task text (the PR description) or of the agent's text in the first 20
  steps, L2 logistic and cosine kNN.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dispatcher.detectors._calibration import fit_logistic
from dispatcher.detectors._combined import CombinedDetector
from dispatcher.detectors._features import DEFAULT_WEIGHTS, FEATURE_NAMES
from dispatcher.detectors._metrics import auc
from dispatcher.detectors._profiles import CODING_WEIGHTS
from dispatcher.trajectories import Trajectory, load_trajectories, read_labels

DATA = next(
    (p / "shared/data/trajectories" for p in Path(__file__).resolve().parents[2:]
     if (p / "shared/data/trajectories").is_dir()),
    Path(__file__).resolve().parents[3] / "shared/data/trajectories",
)  # fmt: skip
STEPS = (5, 10, 20, 40)
FIT_STEP = 20
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]{1,30}")
Array = NDArray[np.float64]
Key = Callable[[Trajectory], str]
# fold -> (train indices, test indices) -> scores of the test runs at each K
Model = Callable[[list[int], list[int]], dict[int, Array]]


def repository(run: Trajectory) -> str:
    """SWE-bench ids are ``owner__repo-number``."""
    return run.id.split("__")[0] if "__" in run.id else run.group


def _tokens(run: Trajectory, k: int, parts: str) -> dict[str, int]:
    """Per token, the number of the first `k` steps it appears in."""
    counts: dict[str, int] = {}
    for step in run.steps[:k]:
        words = _WORD.findall(step.action[:400])
        found = {"verb:" + words[0].lower()} if words else set()
        if "a" in parts:
            found.update("a:" + w.lower() for w in words)
        if "o" in parts:
            o = step.observation
            o = o[:1500] + " " + o[-500:] if len(o) > 2000 else o
            found.update("o:" + w.lower() for w in _WORD.findall(o))
        if "t" in parts:
            found.update("t:" + w.lower() for w in _WORD.findall(step.text[:2000]))
        if step.error:
            found.add("error")
        for token in found:
            counts[token] = counts.get(token, 0) + 1
    return counts


def _fit_gd(x: Array, y: Array, l2: float, iterations: int = 400) -> tuple[Array, float]:
    """L2 logistic regression by gradient descent (mean log loss; intercept not penalised)."""
    n = len(y)
    w = np.zeros(x.shape[1])
    prior = float(y.mean())
    b = math.log((prior + 1e-3) / (1 - prior + 1e-3))
    rate = 1 / (float(np.linalg.norm(x, 2)) ** 2 / 4 / n + l2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= rate * (x.T @ (p - y) / n + l2 * w)
        b -= rate * float((p - y).mean())
    return w, b


def words_model(runs: Sequence[Trajectory], y: Array, parts: str, l2: float) -> Model:
    bags = {k: [_tokens(r, k, parts) for r in runs] for k in {*STEPS, FIT_STEP}}

    def vectors(rows: Sequence[dict[str, int]], vocab: dict[str, int], idf: Array) -> Array:
        x = np.zeros((len(rows), len(vocab)))
        for i, row in enumerate(rows):
            for token, count in row.items():
                j = vocab.get(token)
                if j is not None:
                    x[i, j] = math.log1p(count) * idf[j]
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norms == 0, 1, norms)

    def model(train: list[int], test: list[int]) -> dict[int, Array]:
        df: dict[str, int] = {}
        for i in train:
            for token in bags[FIT_STEP][i]:
                df[token] = df.get(token, 0) + 1
        terms = sorted(t for t, c in df.items() if 5 <= c < 0.95 * len(train))
        vocab = {t: j for j, t in enumerate(terms)}
        idf = np.array([math.log(len(train) / df[t]) for t in terms])
        w, b = _fit_gd(vectors([bags[FIT_STEP][i] for i in train], vocab, idf), y[train], l2)
        return {k: vectors([bags[k][i] for i in test], vocab, idf) @ w + b for k in STEPS}

    return model


def _run_features(runs: Sequence[Trajectory]) -> dict[int, Array]:
    """All combined-score features of each run at each K (the runs' state after K steps)."""
    out: dict[int, list[list[float]]] = {k: [] for k in STEPS}
    for run in runs:
        detector = CombinedDetector()
        for k in STEPS:
            values = detector.features(run.steps[: max(1, min(k, len(run.steps)))])
            out[k].append([values[name] for name in FEATURE_NAMES])
    return {k: np.array(v) for k, v in out.items()}


def rules_model(features: dict[int, Array], y: Array, names: Sequence[str]) -> Model:
    names = list(names)
    columns = [FEATURE_NAMES.index(n) for n in names]

    def model(train: list[int], test: list[int]) -> dict[int, Array]:
        # As `calibrate` fits it: each training run's state at every K, L2 = 30.
        rows = [dict(zip(names, features[k][i, columns], strict=True)) for k in STEPS
                for i in train]  # fmt: skip
        labels = [int(y[i]) for _ in STEPS for i in train]
        fitted = fit_logistic(rows, labels, names, 30.0)
        w = np.array([fitted.weights[n] for n in names])
        return {k: features[k][test][:, columns] @ w + fitted.bias for k in STEPS}

    return model


def knn_model(vectors: dict[int, Array], y: Array, k_neighbours: int, cosine: bool) -> Model:
    def model(train: list[int], test: list[int]) -> dict[int, Array]:
        base = vectors.get(FIT_STEP, next(iter(vectors.values())))
        mean, scale = base[train].mean(0), base[train].std(0)
        scale[scale < 1e-9] = 1.0
        reference = base[train] if cosine else (base[train] - mean) / scale
        out = {}
        for k in STEPS:
            query = vectors.get(k, base)[test]
            if cosine:
                distance = -(query @ reference.T)
            else:
                query = (query - mean) / scale
                distance = ((query[:, None, :] - reference[None, :, :]) ** 2).sum(-1)
            nearest = np.argsort(distance, axis=1)[:, :k_neighbours]
            out[k] = y[train][nearest].mean(axis=1)
        return out

    return model


def embedding_logistic(vectors: Array, y: Array, l2: float) -> Model:
    def model(train: list[int], test: list[int]) -> dict[int, Array]:
        mean = vectors[train].mean(0)
        w, b = _fit_gd(vectors[train] - mean, y[train], l2, iterations=600)
        scores = (vectors[test] - mean) @ w + b
        return dict.fromkeys(STEPS, scores)

    return model


def cross_validate(
    runs: Sequence[Trajectory],
    y: Array,
    model: Model,
    key: Key,
    repeats: int,
    steps: Sequence[int] = STEPS,
) -> dict[int, tuple[float, float]]:
    results: dict[int, list[float]] = {k: [] for k in steps}
    if len({key(r) for r in runs}) == 1:  # one group: fit and score on all runs
        everything = list(range(len(runs)))
        scores = model(everything, everything)
        return {
            k: (
                auc([float(v) for v in scores[k][y == 1]], [float(v) for v in scores[k][y == 0]]),
                0.0,
            )
            for k in steps
        }
    for repeat in range(repeats):
        scores = {k: np.zeros(len(runs)) for k in steps}
        groups = sorted({key(r) for r in runs})
        random.Random(repeat).shuffle(groups)
        for fold in (set(groups[i::5]) for i in range(5)):
            train = [i for i, r in enumerate(runs) if key(r) not in fold]
            test = [i for i, r in enumerate(runs) if key(r) in fold]
            for k, values in model(train, test).items():
                scores[k][test] = values
        for k in steps:
            results[k].append(
                auc([float(v) for v in scores[k][y == 1]], [float(v) for v in scores[k][y == 0]])
            )
    return {k: (float(np.mean(v)), float(np.std(v))) for k, v in results.items()}


def _minilm_vectors(runs: Sequence[Trajectory], folder: Path) -> dict[str, Array]:
    from dispatcher.embeddings import build_embedder

    embedder = build_embedder("minilm:256")
    tasks, thoughts = [], []
    for run in runs:
        messages = json.loads((folder / f"{run.id}.traj.json").read_text())["messages"]
        task = str(messages[1]["content"]).split("</pr_description>")[0]
        task = task.replace("<pr_description>", "").replace(
            "Consider the following PR description:", ""
        )
        tasks.append(task.strip()[:2000])
        thoughts.append(" ".join(s.text[:300] for s in run.steps[:20])[:3000])
    return {
        "task": np.asarray(embedder.embed(tasks), dtype=float),
        "thoughts": np.asarray(embedder.embed(thoughts), dtype=float),
    }


def _models(
    runs: Sequence[Trajectory], y: Array, profile_features: Sequence[str]
) -> dict[str, Model]:
    features = _run_features(runs)
    return {
        "rules: the profile's combined-score features, L2 logistic (round 1)": rules_model(
            features, y, profile_features
        ),
        "words, actions, L2 logistic (l2 0.01)": words_model(runs, y, "a", 0.01),
        "words, actions, L2 logistic (l2 0.1)": words_model(runs, y, "a", 0.1),
        "words, agent text, L2 logistic (l2 0.01)": words_model(runs, y, "t", 0.01),
        "words, actions + outputs, L2 logistic (l2 0.01)": words_model(runs, y, "ao", 0.01),
        "shape kNN, all 18 run features (k 40)": knn_model(features, y, 40, cosine=False),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", choices=("all", "gemini", "tau"), default="all")
    parser.add_argument("--minilm", action="store_true", help="also the MiniLM rows (slow)")
    parser.add_argument("--only", default="", help="only the models whose name starts so")
    parser.add_argument(
        "--in-sample", action="store_true", help="also fit and score on all runs (overfit check)"
    )
    args = parser.parse_args()
    print("| data | model | split | " + " | ".join(f"AUC@{k}" for k in STEPS) + " |")
    print("|---|---|---|" + "---|" * len(STEPS))
    if args.data in ("all", "gemini"):
        folder = DATA / "swe_gemini3pro_miniswe"
        runs = load_trajectories(folder / "trajs", labels=read_labels(folder / "labels.jsonl"))
        y = np.array([0.0 if r.success else 1.0 for r in runs])
        models = _models(runs, y, list(CODING_WEIGHTS))
        if args.minilm:
            embedded = _minilm_vectors(runs, folder / "trajs")
            for name, vectors in embedded.items():
                models[f"minilm {name}, L2 logistic (l2 0.01)"] = embedding_logistic(
                    vectors, y, 0.01
                )
                models[f"minilm {name}, cosine kNN (k 20)"] = knn_model(
                    {FIT_STEP: vectors}, y, 20, cosine=True
                )
        models = {n: m for n, m in models.items() if n.startswith(args.only)}
        keys: dict[str, Key] = {"instance": lambda r: r.group, "repository": repository}
        if args.in_sample:
            keys["in-sample"] = lambda r: ""
        _table("SWE-bench gemini", runs, y, models, keys, args.repeats)
    if args.data in ("all", "tau"):
        runs = load_trajectories(DATA / "taubench_gpt4o_airline/gpt-4o-airline.json")
        y = np.array([0.0 if r.success else 1.0 for r in runs])
        models = _models(runs, y, list(DEFAULT_WEIGHTS))
        models = {n: m for n, m in models.items() if n.startswith(args.only)}
        keys = {"task": lambda r: r.group}
        if args.in_sample:
            keys["in-sample"] = lambda r: ""
        _table("tau-bench airline", runs, y, models, keys, args.repeats)


def _table(
    data: str,
    runs: Sequence[Trajectory],
    y: Array,
    models: dict[str, Model],
    keys: dict[str, Key],
    repeats: int,
) -> None:
    for name, model in models.items():
        for split, key in keys.items():
            result = cross_validate(runs, y, model, key, repeats)
            cells = " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in result.values())
            print(f"| {data} | {name} | {split} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
