"""`dispatcher detectors eval` and `dispatcher detectors calibrate` on labelled runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dispatcher.cli.app import app
from dispatcher.errors import ConfigError

__all__ = ["calibrate_command", "detectors_app", "eval_command"]

detectors_app = typer.Typer(
    help="Measure and calibrate the loop and stall detectors on labelled agent runs.",
    no_args_is_help=True,
)
app.add_typer(detectors_app, name="detectors")

DataOption = Annotated[
    Path,
    typer.Option(
        "--data",
        help="Labelled runs: our JSONL, OpenAI chat messages (tau-bench), "
        "mini-swe-agent/SWE-agent logs, or dispatcher traces (a file or a folder).",
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option("--format", help="jsonl | openai | swe | trace (detected when omitted)."),
]
StepsOption = Annotated[
    str, typer.Option("--steps", help="Comma-separated step counts K for auc@K, e.g. 5,10,20,40.")
]
LabelsOption = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        help="Outcomes kept apart from the runs: JSONL of {instance_id|id, resolved|success}, "
        "a SWE-bench harness report, or a results_summary.json. Every run needs a label.",
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", help="Shipped detector profile: coding, sql, tool_use, default."),
]


def _not_an_input(output: Path, inputs: dict[str, Path | None]) -> None:
    """Writing --runs-out over a file the command reads would destroy the user's data."""
    for option, path in inputs.items():
        if path is not None and path.is_file() and output.exists() and output.samefile(path):
            raise ConfigError(
                f"--runs-out {output} is the {option} file: writing it would replace your data",
                fix="give --runs-out a new file, e.g. --runs-out alarms.jsonl",
            )


def _steps(text: str) -> list[int]:
    try:
        steps = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ConfigError(
            f"--steps must be whole numbers separated by commas, got {text!r}",
            fix="e.g. --steps 5,10,20",
        ) from None
    if not steps or steps[0] < 1:
        raise ConfigError("--steps needs positive step counts", fix="e.g. --steps 5,10,20")
    return steps


def _load(data: Path, format: str | None, labels: Path | None = None) -> list[Any]:
    from dispatcher.trajectories import (
        FORMATS,
        check_both_outcomes,
        load_trajectories,
        read_labels,
    )

    if format is not None and format not in FORMATS:
        raise ConfigError(
            f"unknown format {format!r}", field="--format", fix=f"use one of {', '.join(FORMATS)}"
        )
    outcomes = read_labels(labels) if labels is not None else None
    runs = load_trajectories(
        data,
        format,  # type: ignore[arg-type]
        labels=outcomes,
        labels_source=labels,
    )
    check_both_outcomes(runs, data)
    return runs


def _settings(config: Path | None, profile: str | None) -> Any:
    """The config's detector settings, on top of `profile` when one is named."""
    from dispatcher.detectors import DetectorSettings, merge
    from dispatcher.detectors._config_file import read_detector_settings
    from dispatcher.detectors._profiles import PROFILES

    if profile is None:
        return read_detector_settings(config)
    if profile not in PROFILES:
        raise ConfigError(
            f"unknown detector profile {profile!r}",
            field="--profile",
            fix=f"use one of: {', '.join(PROFILES)}",
        )
    base = DetectorSettings.from_mapping({"profile": profile})
    if config is None:
        return base
    own = read_detector_settings(config).model_dump(exclude_unset=True)
    own.pop("profile", None)
    return merge(base, own)


def _cell(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if percent:
        return f"{100 * value:.1f}%"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _metrics_table(title: str, rows: dict[str, dict[str, Any]], steps: list[int]) -> Table:
    table = Table(title=title)
    table.add_column("detector", no_wrap=True)
    for k in steps:
        table.add_column(f"AUC@{k}", justify="right")
    table.add_column("recall @≤5% FA", justify="right")
    table.add_column("false alarms", justify="right")
    table.add_column("median 1st alarm", justify="right")
    for name, m in rows.items():
        table.add_row(
            name,
            *(_cell(m[f"auc@{k}"]) for k in steps),
            _cell(m["recall@fpr5"], percent=True),
            _cell(m["false_alarm_rate"], percent=True),
            _cell(m["median_first_step"]),
        )
    return table


@detectors_app.command("eval")
def eval_command(
    data: DataOption,
    steps: StepsOption = "5,10,20",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    format: FormatOption = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML config whose `dispatcher: detectors:` to use."),
    ] = None,
    labels: LabelsOption = None,
    profile: ProfileOption = None,
    runs_out: Annotated[
        Path | None,
        typer.Option(
            "--runs-out",
            help="Write one JSONL line per run: id, success, first_alarm_step, detector.",
        ),
    ] = None,
) -> None:
    """Replay labelled runs through the configured detectors and report how well they work."""
    from dispatcher.detectors._evaluation import evaluate

    ks = _steps(steps)
    settings = _settings(config, profile)
    if runs_out is not None:
        _not_an_input(runs_out, {"--data": data, "--labels": labels})
    per_run: list[dict[str, Any]] | None = [] if runs_out is not None else None
    report = evaluate(_load(data, format, labels), settings, ks, runs_out=per_run)
    if runs_out is not None and per_run is not None:
        try:
            with runs_out.open("w", encoding="utf-8") as out:
                for line in per_run:
                    out.write(json.dumps(line) + "\n")
        except OSError as exc:
            raise ConfigError(
                f"cannot write --runs-out file: {exc.strerror}",
                file=runs_out,
                fix="give a path in a writable folder",
            ) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    console = Console()
    runs = report["runs"]
    console.print(
        f"{runs['total']} runs ({runs['failed']} failed, {runs['succeeded']} succeeded) in "
        f"{runs['groups']} groups; median {runs['median_steps']} steps. "
        "A run shorter than K is judged by its final state."
    )
    rows = {**report["detectors"], "combined": report["combined"]}
    console.print(_metrics_table("Detectors (configured settings)", rows, ks))
    console.print(_metrics_table("Baselines", report["baselines"], ks))
    policy = report["profile"]
    console.print(
        f"profile {policy['name']}: alarms on {_cell(policy['false_alarm_rate'], True)} of "
        f"successful and {_cell(policy['recall'], True)} of failed runs (median step "
        f"{_cell(policy['median_first_step'])}); combined-score alarm step at 5% / 10% false "
        f"alarms: {_cell(policy['alarm_step@fpr5'])} / {_cell(policy['alarm_step@fpr10'])}"
    )
    if "escalation" in report:
        view = report["escalation"]
        console.print(
            f"escalating at the first alarm: rescued {view['rescued']} of {view['rescuable']} "
            f"rescuable failed runs, {view['wasted']} wasted escalations, "
            f"{_cell(view['successes_escalated'], True)} of successful runs escalated"
        )
        table = Table(title="Escalating at the first alarm (runs with strong_success)")
        for column in ("detector", "rate", "rescued", "wasted", "unneeded", "futile", "missed"):
            table.add_column(column, justify="left" if column == "detector" else "right")
        for name, view in report["escalation_by_detector"].items():
            if view is not None:
                table.add_row(
                    name,
                    _cell(view["escalation_rate"], percent=True),
                    *(str(view[key]) for key in ("rescued", "wasted", "unneeded", "futile")),
                    str(view["missed_rescues"]),
                )
        console.print(table)


@detectors_app.command("calibrate")
def calibrate_command(
    data: DataOption,
    max_false_alarms: Annotated[
        float,
        typer.Option("--max-false-alarms", help="Largest share of successful runs that may alarm."),
    ] = 0.05,
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            help="YAML config to start from and to write `dispatcher: detectors:` into "
            "(other keys are kept; created when missing).",
        ),
    ] = Path("dispatcher.yaml"),
    steps: StepsOption = "5,10,20",
    format: FormatOption = None,
    features: Annotated[
        str | None,
        typer.Option("--features", help="Comma-separated features for the combined score."),
    ] = None,
    l2: Annotated[float, typer.Option("--l2", help="L2 penalty of the logistic fit.")] = 30.0,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 5,
    repeats: Annotated[int, typer.Option("--repeats", help="Shuffled CV repeats.")] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Do not write the config.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    labels: LabelsOption = None,
    profile: ProfileOption = None,
    group_by: Annotated[
        str,
        typer.Option(
            "--group-by",
            help="CV groups: 'group' (task/instance), or 'repository' (SWE-bench "
            "owner__repo-N instance ids grouped by repository).",
        ),
    ] = "group",
) -> None:
    """Fit detector thresholds and the combined score; print grouped-CV metrics; save them."""
    from dispatcher.detectors._calibration import calibrate
    from dispatcher.detectors._config_file import write_detector_settings

    if not 0.0 < max_false_alarms < 1.0:
        raise ConfigError(
            f"--max-false-alarms must be between 0 and 1, got {max_false_alarms}",
            fix="e.g. --max-false-alarms 0.05",
        )
    if folds < 2 or repeats < 1:
        raise ConfigError("--folds must be at least 2 and --repeats at least 1")
    if group_by not in ("group", "repository"):
        raise ConfigError(
            f"unknown --group-by {group_by!r}", fix="use --group-by group or --group-by repository"
        )
    base = _settings(config if config.is_file() else None, profile)
    chosen = [f.strip() for f in features.split(",") if f.strip()] if features else None
    if chosen is None and profile is not None and base.combined.enabled:
        chosen = list(base.combined.weights)  # the profile's own features
    runs = _load(data, format, labels)
    if group_by == "repository":
        runs = _by_repository(runs)
    result = calibrate(
        runs,
        base,
        max_false_alarms=max_false_alarms,
        steps=_steps(steps),
        features=chosen,
        l2=l2,
        folds=folds,
        repeats=repeats,
        seed=seed,
    )
    if not dry_run:
        write_detector_settings(config, result.settings)
    if as_json:
        payload = {
            "cv": result.cv,
            "baselines": result.baselines,
            "rules": result.rules,
            "settings": result.settings.to_mapping(),
            "written": None if dry_run else str(config),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_calibration(result, _steps(steps), max_false_alarms)
    if not dry_run:
        Console().print(f"wrote dispatcher.detectors to {config}")


def _by_repository(runs: list[Any]) -> list[Any]:
    """Runs regrouped by repository: SWE-bench ids are ``owner__repo-number``."""
    import re
    from dataclasses import replace

    instance = re.compile(r"[^_\s]+__\S+-\d+")
    odd = next((r.group for r in runs if not instance.fullmatch(r.group)), None)
    if odd is not None:
        raise ConfigError(
            f"--group-by repository needs SWE-bench instance ids (owner__repo-N) as the runs' "
            f"groups; {odd!r} is not one",
            fix="use --group-by group, or give each run its instance id as `group`",
        )
    return [replace(r, group=r.group.rsplit("-", 1)[0]) for r in runs]


def _print_calibration(result: Any, ks: list[int], budget: float) -> None:
    console = Console()
    cv = result.cv
    table = Table(
        title=f"Combined score, grouped {cv['folds']}-fold CV by group x {cv['repeats']} repeats "
        "(mean ± sd over repeats)"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")

    def both(key: str, percent: bool = False) -> str:
        entry = cv.get(key)
        if entry is None:
            return "-"
        if percent:
            return f"{100 * entry['mean']:.1f}% ± {100 * entry['sd']:.1f}"
        return f"{entry['mean']:.3f} ± {entry['sd']:.3f}"

    for k in ks:
        table.add_row(f"AUC@{k}", both(f"auc@{k}"))
    table.add_row(
        f"recall at the threshold fitted for ≤{100 * budget:g}% FA", both("recall@fpr5", True)
    )
    table.add_row("held-out false-alarm rate", both("false_alarm_rate", True))
    table.add_row("median first alarm step (failed runs)", both("median_first_step"))
    for name, aucs in result.baselines.items():
        table.add_row(f"baseline {name}", ", ".join(f"@{k} {_cell(aucs[f'auc@{k}'])}" for k in ks))
    console.print(table)
    rules = Table(title="Rule thresholds (lowest count within the false-alarm budget)")
    for column in ("detector", "setting", "value", "false alarms", "recall", "CV false alarms"):
        rules.add_column(column)
    for name, rule in result.rules.items():
        rules.add_row(
            name,
            rule["setting"],
            str(rule["value"]),
            _cell(rule["false_alarm_rate"], percent=True),
            _cell(rule["recall"], percent=True),
            both(f"{name}.false_alarm_rate", True),
        )
    console.print(rules)
    combined = result.settings.combined
    console.print(
        f"combined: threshold {combined.threshold:.3f}, bias {combined.bias:+.3f}, weights "
        + ", ".join(f"{k} {v:+.3f}" for k, v in combined.weights.items())
    )
