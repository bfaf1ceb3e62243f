"""`dispatcher trace`: the event schema, the list of runs, one run as a tree, stats over many."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dispatcher.cli._terminal import printable
from dispatcher.cli._trace_export import check_nesting
from dispatcher.cli._trace_export import checked_runs_dir as _checked
from dispatcher.cli.app import app
from dispatcher.errors import ConfigError, DataError
from dispatcher.trace.events import (
    AgentStarted,
    EscalationEvent,
    Event,
    RunFinished,
    RunStarted,
    event_adapter,
    event_json_schema,
)
from dispatcher.trace.reader import RunRef, list_run_refs, locate_run, read_run
from dispatcher.trace.render import render_run

trace_app = typer.Typer(help="Inspect run traces (JSONL, one event a line).", no_args_is_help=True)
app.add_typer(trace_app, name="trace")

RunsDir = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir",
        envvar="DISPATCHER_RUNS_DIR",
        help="Folder of run traces (default .dispatcher/runs).",
    ),
]


@trace_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a trace event (one line of a trace file)."""
    typer.echo(json.dumps(event_json_schema(), indent=2))


@trace_app.command("ls")
def ls(
    runs_dir: RunsDir = None,
    limit: Annotated[int, typer.Option(help="Show at most this many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List runs, newest first."""
    if limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}", fix="pass --limit 20, say")
    rows: list[dict[str, Any]] = []
    for ref in list_run_refs(_checked(runs_dir), limit=max(limit, 0)):
        path = ref.path
        try:
            events = read_run(ref)
        except (DataError, OSError) as exc:
            # One damaged file must not hide the other runs: list it with its problem.
            rows.append(_unreadable_row(ref, exc))
            continue
        started = next((e for e in events if isinstance(e, RunStarted)), None)
        finished = next((e for e in events if isinstance(e, RunFinished)), None)
        status = finished.status if finished else "incomplete"
        rows.append(
            {
                "run_id": ref.run_id,
                "started": started.ts if started else None,
                "status": status,
                "cost_usd": finished.cost_usd if finished else None,
                "counterfactual_cost_usd": finished.counterfactual_cost_usd if finished else None,
                "escalations": finished.escalations if finished else None,
                "task": started.task[:80] if started else "",
                "path": str(path),
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no runs yet (run `dispatcher run examples/sql_report`)")
        return
    table = Table("run", "status", "cost", "all-strong", "esc.", "task")
    cells = [
        [
            printable(row["run_id"]),  # a file name: any text
            str(row["status"]),
            _usd(row["cost_usd"]),
            _usd(row["counterfactual_cost_usd"]),
            str(row["escalations"] if row["escalations"] is not None else "-"),
            # One row a run: line breaks and tabs read as spaces (--json keeps the task exact).
            printable(" ".join(str(row["task"]).split())),
        ]
        for row in rows
    ]
    # Run ids are what `trace show` takes: the fixed columns keep their width, the task is cut
    # to what is left of the terminal (borders and padding: 3 characters a column, plus 1).
    console = Console()
    fixed = [
        max(len(str(c.header)), *(len(r[i]) for r in cells))
        for i, c in enumerate(table.columns[:5])
    ]
    room = max(3, console.width - sum(fixed) - 3 * len(table.columns) - 1)
    for column in table.columns:
        column.no_wrap = True
    for row_cells in cells:
        task_text = row_cells[5]
        row_cells[5] = task_text if len(task_text) <= room else task_text[: room - 1] + "…"
        table.add_row(*(Text(cell) for cell in row_cells))  # Text: '[...]' is not markup
    console.print(table)


def _unreadable_row(ref: RunRef, exc: Exception) -> dict[str, Any]:
    path = ref.path
    return {
        "run_id": ref.run_id,
        "started": None,
        "status": "unreadable",
        "cost_usd": None,
        "counterfactual_cost_usd": None,
        "escalations": None,
        "task": str(exc).replace(str(path), path.name)[:80],
        "path": str(path),
    }


@trace_app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="Run id, id prefix, `latest`, or a .jsonl path.")],
    runs_dir: RunsDir = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the validated events as JSON.")
    ] = False,
) -> None:
    """Show one run as a tree: agents, model calls, tools, detectors, escalation episodes."""
    ref = _find(run, runs_dir)
    events = _read(ref)
    if as_json:
        adapter = event_adapter()
        typer.echo(json.dumps([adapter.dump_python(e, mode="json") for e in events], indent=2))
        return
    check_nesting(events, ref.path)
    events = [_printable_event(e) for e in events]  # model output must not drive the terminal
    console = Console()
    console.print(render_run(events))
    finished = next((e for e in events if isinstance(e, RunFinished)), None)
    if finished is not None and finished.error:
        kind = finished.error.get("type", "error")
        message = finished.error.get("message", "")
        console.print(Text.assemble((f"{kind}: ", "bold red"), str(message)))


@trace_app.command("stats")
def stats(
    runs: Annotated[
        list[str] | None, typer.Argument(help="Runs (default: all in --runs-dir).")
    ] = None,
    runs_dir: RunsDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Summarize runs: escalation rate by trigger, cost against the all-strong counterfactual."""
    if runs:
        # A run named twice (by id and by `latest`, say) is one run: keyed by file and id.
        found = {(ref.path, ref.run_id): ref for ref in (_find(r, runs_dir) for r in runs)}
        refs = list(found.values())
    else:
        refs = list_run_refs(_checked(runs_dir))
    by_trigger: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    worker_runs = 0
    cost = counterfactual = escalation_cost = 0.0
    priced_runs = 0
    for ref in refs:
        try:
            events = read_run(ref)
        except (DataError, OSError):
            statuses["unreadable"] += 1
            continue
        finished = next((e for e in events if isinstance(e, RunFinished)), None)
        statuses[finished.status if finished else "incomplete"] += 1
        worker_runs += sum(1 for e in events if isinstance(e, AgentStarted) and e.role == "worker")
        for event in events:
            if isinstance(event, EscalationEvent):
                by_trigger[event.trigger] += 1
                outcomes[event.outcome] += 1
                escalation_cost += event.cost_usd or 0.0
        if finished and finished.cost_usd is not None and finished.counterfactual_cost_usd:
            priced_runs += 1
            cost += finished.cost_usd
            counterfactual += finished.counterfactual_cost_usd
    summary = {
        "runs": len(refs),
        "statuses": dict(statuses),
        "worker_runs": worker_runs,
        "escalations": sum(by_trigger.values()),
        "escalations_by_trigger": dict(by_trigger),
        "escalation_rate_by_trigger": {t: n / worker_runs for t, n in by_trigger.items()}
        if worker_runs
        else {},
        "escalation_outcomes": dict(outcomes),
        "escalation_cost_usd": escalation_cost,
        "priced_runs": priced_runs,
        "cost_usd": cost,
        "counterfactual_cost_usd": counterfactual,
        "cost_ratio": cost / counterfactual if counterfactual else None,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console = Console()
    console.print(
        f"[bold]{len(refs)} run(s)[/]  statuses: {dict(statuses)}  worker runs: {worker_runs}"
    )
    table = Table("trigger", "escalations", "per worker run")
    for trigger, count in sorted(by_trigger.items()):
        table.add_row(trigger, str(count), f"{count / worker_runs:.2f}" if worker_runs else "-")
    console.print(table)
    console.print(f"escalation outcomes: {dict(outcomes)}; escalation cost {_usd(escalation_cost)}")
    if counterfactual:
        console.print(
            f"cost {_usd(cost)} vs all-strong {_usd(counterfactual)} "
            f"({cost / counterfactual:.0%}) over {priced_runs} priced run(s)"
        )


def _printable_event(event: Event) -> Event:
    """The event with its text (model and tool output among them, and the text inside its
    lists and mappings: evidence, errors, arguments) made printable."""
    changed = {}
    for name, value in event.__dict__.items():
        shown = _printable_value(value)
        if shown != value:
            changed[name] = shown
    return event.model_copy(update=changed) if changed else event


def _printable_value(value: Any) -> Any:
    # Recursive: the reader refuses JSON nested past ~200 levels, far below the stack's limit.
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable_value(item) for item in value]
    if isinstance(value, dict):
        return {_printable_value(k): _printable_value(v) for k, v in value.items()}
    return value


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _find(run: str, runs_dir: Path | None) -> RunRef:
    try:
        return locate_run(run, _checked(runs_dir))
    except DataError as exc:
        raise ConfigError(
            str(exc),
            fix="`dispatcher trace ls` lists the runs; pass a run id, `latest`, a .jsonl path, "
            "or --runs-dir for traces written elsewhere",
        ) from None


def _read(ref: RunRef) -> list[Event]:
    from dispatcher.cli._trace_export import read_events

    return read_events(ref)


# `trace export` and `trace html` live in their own module.
from dispatcher.cli._trace_export import register as _register_exports  # noqa: E402

_register_exports(trace_app)
