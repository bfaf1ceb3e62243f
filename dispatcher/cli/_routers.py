"""`dispatcher eval routers`, `dispatcher eval import-routellm` and `dispatcher calibrate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dispatcher.cli.app import app
from dispatcher.errors import ConfigError

if TYPE_CHECKING:
    from dispatcher.embeddings.base import Embedder
    from dispatcher.routing.evaluation import Evaluation

__all__ = ["calibrate", "eval_routers", "import_routellm_command"]


def _eval_group() -> typer.Typer:
    # Other modules may add `eval` sub-commands too: share one group instead of clashing.
    for group in app.registered_groups:
        if group.name == "eval" and group.typer_instance is not None:
            return group.typer_instance
    group_app = typer.Typer(
        help="Evaluate routers and detectors on labelled data.", no_args_is_help=True
    )
    app.add_typer(group_app, name="eval")
    return group_app


eval_app = _eval_group()
_err = Console(stderr=True)


class _RichProgress:
    """Adapts the evaluation's progress reports to a rich progress bar on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: Any = None

    def start(self, description: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(description, total=total)
        if not self._progress.console.is_terminal:
            # No live bar in a log file or a pipe: one line per stage says what is running.
            self._progress.console.print(f"{description} ...", highlight=False)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    )


def _require_numpy() -> None:
    try:
        import numpy  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "router evaluation and calibration need numpy",
            fix='pip install -e ".[embeddings]" (from the dispatcher repository root)',
        ) from exc


def _embedder(spec: str, cache: bool, cache_dir: Path | None) -> Embedder:
    from dispatcher.embeddings import build_embedder

    return build_embedder(spec, cache=cache, cache_dir=cache_dir if cache else None)


def _pct(value: float | None) -> str:
    return "not reached" if value is None else f"{100 * value:.1f}%"


def _print_table(evaluation: Evaluation, strong: str, weak: str) -> None:
    console = Console()
    table = Table(
        title=evaluation.split,
        caption=f"{evaluation.queries} queries; strong {strong}: {evaluation.strong_quality:.3f}, "
        f"weak {weak}: {evaluation.weak_quality:.3f}",
    )
    for column in ("router", "APGR", "CPT(50%)", "CPT(80%)"):
        table.add_column(column, justify="left" if column == "router" else "right")
    for name, result in evaluation.results.items():
        m = result.metrics
        table.add_row(name, f"{m.apgr:.3f}", _pct(m.cpt50), _pct(m.cpt80))
    console.print(table)


def _plot(evaluation: Evaluation, path: Path, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        fix = 'pip install -e ".[plot]" (from the dispatcher repository root)'
        raise ConfigError("--plot needs matplotlib", fix=fix) from exc
    figure, axis = plt.subplots(figsize=(7, 5))
    for name, result in evaluation.results.items():
        curve = result.curve
        style = "--" if name in ("random", "oracle") else "-"
        label = f"{name} (APGR {result.metrics.apgr:.3f})"
        axis.plot(
            100 * curve.share, 100 * curve.quality, style, marker="o", markersize=3, label=label
        )
    axis.axhline(100 * evaluation.strong_quality, color="grey", linewidth=0.8, linestyle=":")
    axis.axhline(100 * evaluation.weak_quality, color="grey", linewidth=0.8, linestyle=":")
    axis.set_xlabel("strong-model calls (%)")
    axis.set_ylabel("quality (%)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


DataOption = Annotated[Path | None, typer.Option("--data", help="Preference dataset (JSONL).")]
StrongOption = Annotated[str, typer.Option("--strong", help="Strong model's name in `scores`.")]
WeakOption = Annotated[str, typer.Option("--weak", help="Weak model's name in `scores`.")]
EmbedderOption = Annotated[
    str,
    typer.Option(
        "--embedder",
        help=(
            "minilm[:max_tokens], minilm-static (MiniLM distilled to word-piece vectors: "
            "sub-millisecond), hashing, sentence-transformers:M or openai:M."
        ),
    ),
]
CacheOption = Annotated[
    bool, typer.Option("--cache/--no-cache", help="Keep prompt embeddings on disk.")
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Embedding cache folder (default $DISPATCHER_CACHE_DIR/embeddings or "
        "~/.cache/dispatcher/embeddings).",
    ),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option("--exclude-group", help="Drop records of this group (repeatable)."),
]


def _load(path: Path, exclude: list[str] | None, *, ignore_groups: bool = False) -> Any:
    from dispatcher.errors import DataError
    from dispatcher.preferences import load_preferences

    dataset = load_preferences(path)
    if exclude:
        unknown = sorted(set(exclude) - {r.group for r in dataset.records})
        if unknown:
            raise ConfigError(
                f"--exclude-group names no group in {path}: {', '.join(unknown)}",
                fix="check the group names in the dataset's 'group' field",
            )
        dataset = dataset.without_groups(exclude)
        if len(dataset) == 0:
            raise DataError("every record was excluded", file=path)
    return dataset.ungrouped() if ignore_groups else dataset


@eval_app.command("routers")
def eval_routers(
    strong: StrongOption,
    weak: WeakOption,
    data: DataOption = None,
    router: Annotated[
        list[str] | None,
        typer.Option(
            "--router", help="predictive, semantic, bandit (repeatable; default predictive)."
        ),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="k for k-fold cross-validation.")] = 5,
    train: Annotated[
        Path | None, typer.Option("--train", help="Training set (with --test).")
    ] = None,
    test: Annotated[Path | None, typer.Option("--test", help="Test set (with --train).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print metrics as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG of the curves.")] = None,
    embedder: EmbedderOption = "minilm:128",
    exclude_group: ExcludeOption = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed for folds and the random baseline.")
    ] = 0,
    ignore_groups: Annotated[
        bool, typer.Option("--ignore-groups", help="Split folds by id even if records have groups.")
    ] = False,
    cache: CacheOption = True,
    cache_dir: CacheDirOption = None,
) -> None:
    """APGR, CPT(50%) and CPT(80%) of routers and the random/length/oracle baselines.

    Either k-fold cross-validation on --data (split by `group` when present, else by id),
    or fit on --train and score --test.
    """
    _require_numpy()
    from dispatcher.routing.evaluation import evaluate_cv, evaluate_split

    names = router or ["predictive"]
    model = _embedder(embedder, cache, cache_dir)
    with _progress_bar() as bar:
        progress = _RichProgress(bar)
        if train is not None or test is not None:
            if data is not None or train is None or test is None:
                raise ConfigError(
                    "use either --data (cross-validation) or both --train and --test",
                    fix="e.g. --train a.jsonl --test b.jsonl, or --data all.jsonl --folds 5",
                )
            evaluation = evaluate_split(
                _load(train, exclude_group),
                _load(test, exclude_group),
                strong,
                weak,
                names,
                embedder=model,
                seed=seed,
                progress=progress,
            )
            title = f"{test.name} (trained on {train.name})"
        else:
            if data is None:
                raise ConfigError(
                    "no dataset given", fix="pass --data FILE, or --train FILE --test FILE"
                )
            evaluation = evaluate_cv(
                _load(data, exclude_group, ignore_groups=ignore_groups),
                strong,
                weak,
                names,
                embedder=model,
                folds=folds,
                seed=seed,
                progress=progress,
            )
            title = f"{data.name}, {folds}-fold"
    if plot is not None:
        _plot(evaluation, plot, title)
    if as_json:
        typer.echo(json.dumps(evaluation.to_json(), indent=2))
    else:
        _print_table(evaluation, strong, weak)
        if plot is not None:
            _err.print(f"plot written to {plot}")


@eval_app.command("import-routellm")
def import_routellm_command(
    directory: Annotated[Path, typer.Argument(help="RouteLLM data folder, e.g. routellm/mmlu.")],
    out: Annotated[Path, typer.Option("--out", help="Preference JSONL file to write.")],
    keep_contaminated: Annotated[
        bool,
        typer.Option("--keep-contaminated", help="Keep prompts RouteLLM flags as contaminated."),
    ] = False,
) -> None:
    """Convert RouteLLM's per-domain outcome CSVs into a preference dataset (group = domain)."""
    from dispatcher.preferences import import_routellm, write_preferences

    result = import_routellm(directory, drop_contaminated=not keep_contaminated)
    out.parent.mkdir(parents=True, exist_ok=True)
    count = write_preferences(result.records, out)
    groups = len({r.group for r in result.records})
    _err.print(
        f"wrote {count} records ({groups} groups, {result.files} files) to {out}; "
        f"dropped {result.dropped_contaminated} contaminated"
    )


@app.command("calibrate")
def calibrate(
    data: Annotated[Path, typer.Option("--data", help="Preference dataset (JSONL).")],
    strong: StrongOption,
    weak: WeakOption,
    config: Annotated[
        Path, typer.Option("--config", help="YAML file; writes its `dispatcher: router:`.")
    ],
    strong_share: Annotated[
        float | None,
        typer.Option("--strong-share", help="Target share of queries for the strong model (0-1)."),
    ] = None,
    quality_share: Annotated[
        float | None,
        typer.Option("--quality-share", help="Target share of the strong model's quality (0-1)."),
    ] = None,
    router: Annotated[str, typer.Option("--router", help="predictive or length.")] = "predictive",
    model_out: Annotated[
        Path | None,
        typer.Option("--model-out", help="Where to save the trained model (predictive)."),
    ] = None,
    strong_route: Annotated[
        str, typer.Option(help="Route name the router emits for strong.")
    ] = "strong",
    weak_route: Annotated[str, typer.Option(help="Route name the router emits for weak.")] = "weak",
    folds: Annotated[int, typer.Option("--folds", help="Folds for out-of-fold scores.")] = 5,
    embedder: EmbedderOption = "minilm:128",
    exclude_group: ExcludeOption = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    cache: CacheOption = True,
    cache_dir: CacheDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fit a router threshold for a strong-call budget or a quality target; write it to --config."""
    _require_numpy()
    from dispatcher.routing._calibrate_run import run_calibration

    if (strong_share is None) == (quality_share is None):
        raise ConfigError(
            "give exactly one target",
            fix="--strong-share 0.2 (send 20% to the strong model) or --quality-share 0.95",
        )
    with _progress_bar() as bar:
        result = run_calibration(
            dataset=_load(data, exclude_group),
            strong=strong,
            weak=weak,
            config_path=config,
            router=router,
            strong_share=strong_share,
            quality_share=quality_share,
            model_out=model_out,
            routes=(strong_route, weak_route),
            folds=folds,
            embedder=_embedder(embedder, cache, cache_dir) if router == "predictive" else None,
            embedder_spec=embedder,
            seed=seed,
            progress=_RichProgress(bar),
        )
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(
        f"threshold {result['threshold']:.4f} -> strong share {_pct(result['strong_share'])}, "
        f"{_pct(result['quality_share'])} of the strong model's quality "
        f"(out-of-fold on {data.name}); "
        f"written to {config} under dispatcher.router"
    )
