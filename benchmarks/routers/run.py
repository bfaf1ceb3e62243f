"""Router benchmark on RouteLLM's MMLU outcomes (GPT-4 vs Mixtral), reproducible end to end.

    PYTHONPATH=. .venv/bin/python benchmarks/routers/run.py [--routers predictive semantic bandit]

Reads ../shared/data/routellm (never copied into the repo; see its README for the license),
converts it with the same importer as `dispatcher eval import-routellm`, then reports:

1. the metric anchors (random / length / oracle) on the 14,037 decontaminated rows;
2. APGR, CPT(50%), CPT(80%) for each router, 5-fold cross-validation grouped by subject,
   with and without high_school_mathematics, and the same ungrouped (split by id);
3. calibration transfer: thresholds fitted on 80% of subjects, strong-call share measured
   on the other 20%;
4. routing latency (p50/p95 over single prompts, embedding included).

Prompt embeddings are cached on disk (DISPATCHER_CACHE_DIR), so the second run is fast.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from dispatcher.embeddings import build_embedder
from dispatcher.preferences import PreferenceDataset, import_routellm
from dispatcher.routing.evaluation import evaluate_cv
from dispatcher.routing.metrics import metrics_for, oracle_curve, random_curve, sweep

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: shared helpers

from _common import cpu_model

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
HSM = "high_school_mathematics"
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routellm"


def _fmt(m: dict[str, float | None]) -> str:
    def pct(v: float | None) -> str:
        return "not reached" if v is None else f"{100 * v:.1f}%"

    return f"{m['apgr']:.3f} | {pct(m['cpt50'])} | {pct(m['cpt80'])}"


def anchors(data: PreferenceDataset) -> dict[str, dict[str, float | None]]:
    s = np.array([r.scores[STRONG] for r in data.records])
    w = np.array([r.scores[WEAK] for r in data.records])
    lengths = [len(r.prompt) for r in data.records]
    return {
        "random": metrics_for(random_curve(s, w)).to_json(),
        "length": metrics_for(sweep(lengths, s, w)).to_json(),
        "oracle": metrics_for(oracle_curve(s, w)).to_json(),
    }


def _held_out_splits(data: PreferenceDataset) -> dict[str, tuple[PreferenceDataset, ...]]:
    """A random 20% of rows (same distribution), and 20% of subjects (a shifted one)."""
    by_row = [int(r.id.rsplit("-", 1)[1]) % 5 == 0 for r in data.records]
    groups = sorted({r.group for r in data.records if r.group})
    held_groups = set(groups[::5])  # every fifth subject, alphabetically
    by_group = [r.group in held_groups for r in data.records]
    splits = {}
    for name, held in (("random 20% of rows", by_row), ("20% of subjects", by_group)):
        fit = tuple(r for r, h in zip(data.records, held, strict=True) if not h)
        test = tuple(r for r, h in zip(data.records, held, strict=True) if h)
        splits[name] = (PreferenceDataset(fit, "fit"), PreferenceDataset(test, "held out"))
    return splits


def calibration_transfer(data: PreferenceDataset, embedder: Any) -> list[dict[str, Any]]:
    """Calibrate as `dispatcher calibrate` does on one part; measure on the held-out part."""
    from dispatcher.routing._calibrate_run import run_calibration
    from dispatcher.routing.base import StrongWeakPair, scores_of
    from dispatcher.routing.predictive import PredictiveRouter

    targets = [("strong_share", t) for t in (0.1, 0.2, 0.3, 0.5)] + [("quality_share", 0.95)]
    rows = []
    for split, (calib, held) in _held_out_splits(data).items():
        s = np.asarray([r.scores[STRONG] for r in held.records])
        w = np.asarray([r.scores[WEAK] for r in held.records])
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "dispatcher.yaml"
            for kind, target in targets:
                summary = run_calibration(
                    dataset=calib,
                    strong=STRONG,
                    weak=WEAK,
                    config_path=config,
                    router="predictive",
                    strong_share=target if kind == "strong_share" else None,
                    quality_share=target if kind == "quality_share" else None,
                    model_out=None,
                    routes=("strong", "weak"),
                    folds=5,
                    embedder=embedder,
                    embedder_spec="minilm:128",
                    seed=0,
                )
                # The config names "minilm:128"; reuse the cached instance of that embedder.
                section = summary["router"]
                router = PredictiveRouter.load(
                    section["model_path"],
                    pair=StrongWeakPair.from_config(section, default_threshold=0.5),
                    embedder=embedder,
                )
                prompts = [r.prompt for r in held.records]
                scores = np.asarray(scores_of(router, prompts))  # type: ignore[arg-type]
                strong_calls = scores >= summary["router"]["threshold"]
                quality = float(np.where(strong_calls, s, w).mean())
                rows.append(
                    {
                        "split": split,
                        "target": f"{kind}={target:g}",
                        "calibration_share": summary["strong_share"],
                        "held_out_share": float(strong_calls.mean()),
                        "held_out_quality_share": quality / float(s.mean()),
                        "held_out_queries": len(held),
                    }
                )
    return rows


def latency(embedder_spec: str, model_data: PreferenceDataset, cached: Any) -> dict[str, float]:
    """p50/p95 ms per single prompt for semantic and predictive routing (embedding included)."""
    from dispatcher.routing._fitting import fit_router
    from dispatcher.routing.base import RouteContext
    from dispatcher.routing.predictive import PredictiveRouter
    from dispatcher.routing.semantic import SemanticRouter

    embedder = build_embedder(embedder_spec)  # no disk cache: measure the real work
    semantic = SemanticRouter(
        {
            "sql_analyst": ["Which genres earned the most in 2012?", "Top customers by revenue"],
            "coder": ["Fix the failing unit test", "Refactor this function into two"],
        },
        embedder,
    )
    queries = [
        "How many invoices were issued in Germany last year?",
        "Why does this test fail with a KeyError?",
        "List the five longest tracks and their albums.",
        "Rename the helper and update its callers.",
    ]
    context = lambda q: RouteContext(q, ("sql_analyst", "coder"))  # noqa: E731
    semantic(context(queries[0]))  # load weights outside the timing
    timings: dict[str, list[float]] = {"semantic": [], "predictive": []}
    for _ in range(25):
        for q in queries:
            start = time.perf_counter()
            semantic(context(q))
            timings["semantic"].append(1000 * (time.perf_counter() - start))
    subset = PreferenceDataset(model_data.records[::4])
    trained = fit_router("predictive", subset, STRONG, WEAK, cached)
    assert isinstance(trained, PredictiveRouter)
    predictive = PredictiveRouter(trained.model, embedder)  # time the uncached embedder
    prompts = [r.prompt for r in model_data.records[1::500]]
    for prompt in prompts:
        start = time.perf_counter()
        predictive.score(prompt)
        timings["predictive"].append(1000 * (time.perf_counter() - start))
    out = {}
    for name, values in timings.items():
        values.sort()
        out[f"{name}_p50_ms"] = statistics.median(values)
        out[f"{name}_p95_ms"] = values[int(0.95 * (len(values) - 1))]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--routers", nargs="+", default=["predictive", "semantic", "bandit"])
    parser.add_argument("--embedder", default="minilm:128")
    parser.add_argument("--out", type=Path, help="Also write all numbers as JSON here.")
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["cv", "calibration", "latency"],
        choices=["cv", "calibration", "latency"],
    )
    args = parser.parse_args()
    if not (DATA / "mmlu").is_dir():
        sys.exit(f"RouteLLM data not found at {DATA}")
    started = time.perf_counter()
    data = PreferenceDataset(import_routellm(DATA).records, str(DATA / "mmlu"))
    embedder = build_embedder(args.embedder, cache=True)
    results: dict[str, Any] = {
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "rows": len(data),
        "anchors": anchors(data),
    }
    settings = {
        "grouped by subject, all 57 subjects": (data, False),
        f"grouped by subject, without {HSM}": (data.without_groups([HSM]), False),
        "ungrouped (by id), all 57 subjects": (data, True),
        f"ungrouped (by id), without {HSM}": (data.without_groups([HSM]), True),
    }
    results["cv"] = {}
    for label, (subset, by_id) in settings.items() if "cv" in args.sections else ():
        t0 = time.perf_counter()
        evaluation = evaluate_cv(
            subset.ungrouped() if by_id else subset,
            STRONG,
            WEAK,
            args.routers,
            embedder=embedder,
            folds=5,
        )
        results["cv"][label] = {
            "rows": evaluation.queries,
            "metrics": evaluation.to_json(),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(f"\n### 5-fold, {label} ({evaluation.queries} rows)\n", flush=True)
        print("| router | APGR | CPT(50%) | CPT(80%) |\n|---|---:|---:|---:|")
        for name, metrics in evaluation.to_json().items():
            print(f"| {name} | {_fmt(metrics)} |", flush=True)
    if "calibration" in args.sections:
        results["calibration_transfer"] = calibration_transfer(data, embedder)
        print("\n### calibration transfer (fit on 80% of subjects, measured on the rest)\n")
        header = (
            "held out",
            "target",
            "strong share (fit)",
            "strong share (held out)",
            "quality (held out)",
        )
        print("| " + " | ".join(header) + " |")
        print("|---|---|---:|---:|---:|")
        for row in results["calibration_transfer"]:
            print(
                f"| {row['split']} | {row['target']} | {row['calibration_share']:.1%} | "
                f"{row['held_out_share']:.1%} | {row['held_out_quality_share']:.1%} |",
                flush=True,
            )
    if "latency" in args.sections:
        results["latency"] = latency(args.embedder, data, embedder)
        print("\n### latency\n\n" + json.dumps(results["latency"], indent=2))
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\nmachine: {results['machine']}, total {results['seconds']} s")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
