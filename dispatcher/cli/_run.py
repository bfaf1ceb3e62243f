"""`dispatcher run EXAMPLE_DIR`: run an example offline (cassette) or live, and report it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.console import Console

from dispatcher.cassette import Cassette, load_cassette, save_cassette
from dispatcher.cli._progress import run_with_progress
from dispatcher.cli.app import app
from dispatcher.dispatching import Dispatcher
from dispatcher.errors import ConfigError, RunError, UnexpectedModelCall
from dispatcher.examples import load_example
from dispatcher.recording import RecordingModel, replay_factory
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import Registry
from dispatcher.runner import RunResult, new_run_id
from dispatcher.testing import ScriptedModel
from dispatcher.trace.events import EscalationEvent, RouteEvent
from dispatcher.trace.sink import default_runs_dir


@app.command("run")
def run(
    example: Annotated[Path, typer.Argument(help="An example folder (with example.yaml).")],
    live: Annotated[
        bool,
        typer.Option("--live", help="Call the real models of the config instead of the cassette."),
    ] = False,
    record: Annotated[
        Path | None, typer.Option(help="With --live: save the model turns to this cassette.")
    ] = None,
    task: Annotated[str | None, typer.Option(help="Override the example's task.")] = None,
    runs_dir: Annotated[
        Path | None, typer.Option(envvar="DISPATCHER_RUNS_DIR", help="Where to write the trace.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run an example: prints the answer, the route, every escalation and the cost."""
    if record is not None and not live:
        raise ConfigError("--record needs --live", fix="add --live, or drop --record")
    spec = load_example(example)
    directory = runs_dir or default_runs_dir()
    run_id = new_run_id()
    registry = spec.build_registry(workspace_dir=directory / f"{run_id}.workspace")
    console = Console(stderr=as_json)
    cassette = Cassette()
    scripted: dict[str, ScriptedModel] = {}
    if live:
        console.print("[bold]models: live[/] (real provider calls; keys from the environment)")
        if record is not None:
            _record_into(registry, cassette)
    else:
        scripted, factory = replay_factory(load_cassette(spec.cassette))
        registry.use_models(factory)
        console.print(
            f"[bold yellow]models: scripted[/] — replaying the recorded/scripted turns in "
            f"{spec.cassette} (no model is called; use --live for real models)"
        )
    dispatcher = Dispatcher(registry, runs_dir=directory)
    try:
        text = task or spec.task
        if live:  # real models take a while: show each decision as it happens
            result = anyio.run(run_with_progress, dispatcher, text, run_id, console)
        else:
            result = anyio.run(functools.partial(dispatcher.run, text, run_id=run_id))
    except UnexpectedModelCall as exc:
        raise ConfigError(
            f"the cassette does not match this run: {exc}",
            file=spec.cassette,
            fix="re-record it with --live --record, or fix the scripted turns",
        ) from None
    except RunError as exc:
        console.print(f"[red]run failed:[/] {exc}")
        if exc.trace_path:
            console.print(f"trace: {exc.trace_path}  (dispatcher trace show {exc.trace_path.stem})")
        raise typer.Exit(1) from None
    finally:
        if record is not None:
            save_cassette(cassette, record)
            console.print(
                f"recorded {sum(len(t) for t in cassette.models.values())} turns to {record}"
            )
    for model in scripted.values():
        if model.remaining:
            raise ConfigError(
                f"{model.remaining} scripted turn(s) of {model.model_id} were never used",
                file=spec.cassette,
                fix="the run took a different path than recorded: re-record or fix the cassette",
            )
    _report(result, console, as_json)


@app.command("ask")
def ask(
    task: Annotated[str, typer.Argument(help="The task for the dispatcher.")],
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Registry file with models and agents.")
    ] = Path("dispatcher.yaml"),
    runs_dir: Annotated[
        Path | None, typer.Option(envvar="DISPATCHER_RUNS_DIR", help="Where to write the trace.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run one task live with the models and agents of a registry file."""
    dispatcher = Dispatcher.from_config(config, runs_dir=runs_dir)
    console = Console(stderr=as_json)
    try:
        result = anyio.run(run_with_progress, dispatcher, task, None, console)
    except RunError as exc:
        console.print(f"[red]run failed:[/] {exc}")
        if exc.trace_path:
            console.print(f"trace: {exc.trace_path}")
        raise typer.Exit(1) from None
    _report(result, console, as_json)


def _record_into(registry: Registry, cassette: Cassette) -> None:
    live_factory = registry.model_factory

    def recording(profile: ModelProfile) -> RecordingModel:
        return RecordingModel(live_factory(profile), profile.name, cassette)

    registry.use_models(recording)


def _report(result: RunResult, console: Console, as_json: bool) -> None:
    routes = [e for e in result.events if isinstance(e, RouteEvent) and e.valid and e.chosen]
    escalations = [e for e in result.events if isinstance(e, EscalationEvent)]
    if as_json:
        payload = {
            "run_id": result.run_id,
            "status": result.status,
            "answer": result.answer,
            "routes": [{"router": e.router, "chosen": e.chosen} for e in routes],
            "escalations": [
                {
                    "trigger": e.trigger,
                    "agent": e.agent,
                    "mode": e.mode,
                    "outcome": e.outcome,
                    "cost_usd": e.cost_usd,
                    "reason": e.reason,
                }
                for e in escalations
            ],
            "cost_usd": result.cost_usd,
            "counterfactual_cost_usd": result.counterfactual_cost_usd,
            "trace_path": str(result.trace_path) if result.trace_path else None,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    console.rule("answer")
    console.print(result.answer or "(no answer)")
    console.rule("route")
    for route in routes:
        console.print(f"[magenta]{route.router}[/] → {route.chosen}")
    console.rule(f"escalations ({len(escalations)})")
    for episode in escalations:
        price = "unpriced" if episode.cost_usd is None else f"${episode.cost_usd:.4f}"
        console.print(
            f"[yellow]{episode.trigger}[/] in {episode.agent}: {episode.reason} → "
            f"{episode.mode or '-'} ({episode.outcome}, {price})"
        )
    console.rule("cost")
    cost, strong = result.cost_usd, result.counterfactual_cost_usd
    line = f"run ${cost:.4f}" if cost is not None else "run: unpriced"
    if strong is not None:
        line += f" vs all-strong ${strong:.4f}"
        if cost is not None and strong:
            line += f" ({cost / strong:.0%} of the all-strong cost)"
    console.print(line)
    if result.trace_path:
        console.print(f"trace: {result.trace_path}  (dispatcher trace show {result.run_id})")
