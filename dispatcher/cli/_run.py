"""`dispatcher run EXAMPLE_DIR`: run an example offline (cassette) or live, and report it."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.console import Console
from rich.markup import escape

from dispatcher.approvals import Approver
from dispatcher.cassette import Cassette, load_cassette, save_cassette
from dispatcher.cli._approve import ApproveAll, DenyAll, cli_approver
from dispatcher.cli._model_text import ModelText, shows_model_text
from dispatcher.cli._progress import run_with_progress
from dispatcher.cli._terminal import printable
from dispatcher.cli.app import app
from dispatcher.dispatching import Dispatcher
from dispatcher.errors import ConfigError, ModelError, RunError, UnexpectedModelCall
from dispatcher.examples import Example, load_example
from dispatcher.recording import RecordingModel, check_replay_complete, replay_factory
from dispatcher.registry.profiles import ModelProfile
from dispatcher.registry.registry import Registry
from dispatcher.runner import RunResult, new_run_id
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
        Path | None,
        typer.Option(
            help="Save the model turns, with the requests they answered, to this cassette "
            "(live, or a replay: this adds request records to a hand-written script)."
        ),
    ] = None,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Replay turns that have no recorded request and tool calls to unknown tools "
            "(for drafting a hand-written script); recorded requests are still checked.",
        ),
    ] = False,
    task: Annotated[str | None, typer.Option(help="Override the example's task.")] = None,
    runs_dir: Annotated[
        Path | None, typer.Option(envvar="DISPATCHER_RUNS_DIR", help="Where to write the trace.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    approve_all: ApproveAll = False,
    deny_all: DenyAll = False,
    model_text: ModelText = None,
) -> None:
    """Run an example: prints the answer, the route, every escalation and the cost.

    Offline (the default) the model turns are replayed from the example's cassette, strictly:
    a request that differs from its recording fails the run.
    """
    if model_text and not live:
        raise ConfigError(
            "--model-text shows the text of live models, and this run replays a cassette",
            fix="add --live to call the real models, or drop --model-text",
        )
    spec = load_example(example)
    if record is not None and (record.is_dir() or not record.parent.is_dir()):
        raise ConfigError(
            f"--record {record}: "
            + ("is a folder" if record.is_dir() else f"the folder {record.parent} does not exist"),
            fix="pass a cassette file path in an existing folder, e.g. --record cassette.yaml",
        )
    directory = (runs_dir or default_runs_dir()).resolve()
    run_id = new_run_id()
    workspace = directory / f"{run_id}.workspace"
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    approver = cli_approver(approve_all, deny_all, console)
    text = live and shows_model_text(model_text, console, as_json=as_json)
    try:
        result = _run_example(
            spec,
            run_id,
            directory,
            workspace,
            console,
            live,
            record,
            lenient,
            task,
            approver,
            model_text=text,
        )
    except BaseException:
        # A failed run's workspace copy is of no use to anyone; a finished one shows the work.
        shutil.rmtree(workspace, ignore_errors=True)
        raise
    _report(result, console, as_json)


def _run_example(
    spec: Example,
    run_id: str,
    directory: Path,
    workspace: Path,
    console: Console,
    live: bool,
    record: Path | None,
    lenient: bool,
    task: str | None,
    approver: Approver,
    *,
    model_text: bool,
) -> RunResult:
    registry = spec.build_registry(workspace_dir=workspace)
    cassette = Cassette()
    checks: list[Callable[[str], None]] = []
    if live:
        console.print("[bold]models: live[/] (real provider calls; keys from the environment)")
    else:
        scripted, factory = replay_factory(load_cassette(spec.cassette), strict=not lenient)
        registry.use_models(factory)
        checks.append(lambda _answer: check_replay_complete(scripted))
        console.print(
            "[bold yellow]models: scripted[/] — replaying the recorded/scripted turns in "
            f"{escape(str(spec.cassette))} (no model is called; use --live for real models)"
        )
    if record is not None:
        _record_into(registry, cassette)
    dispatcher = Dispatcher(registry, runs_dir=directory, checks=checks)
    trace = directory / f"{run_id}.jsonl"
    try:
        text = spec.task if task is None else task
        if live:  # real models take a while: show each decision as it happens
            result = anyio.run(
                functools.partial(
                    run_with_progress,
                    dispatcher,
                    text,
                    run_id,
                    console,
                    approver,
                    model_text=model_text,
                )
            )
        else:
            result = anyio.run(
                functools.partial(dispatcher.run, text, run_id=run_id, approve=approver)
            )
    except UnexpectedModelCall as exc:
        if live:
            raise ConfigError(
                f"a model call was refused: {exc}", fix="allow real model calls, or drop --live"
            ) from None
        raise ConfigError(
            f"the cassette does not match this run: {exc} (trace: {trace})",
            file=spec.cassette,
            fix="if the run should go this way, record the cassette again (`--live --record "
            "FILE`, or `--lenient --record FILE` for a hand-written script); otherwise undo "
            "what changed (task, config, tools) or fix the cassette entry named above",
        ) from None
    except ModelError as exc:
        raise ConfigError(
            f"a model call failed: {exc} (trace: {trace})",
            file=spec.config,
            fix="check the model names, api_base and keys in the config, or run without --live",
        ) from None
    except RunError as exc:
        console.print(f"[red]run failed:[/] {escape(str(exc))}")
        console.print(f"trace: {trace}  (dispatcher trace show {run_id})", markup=False)
        raise typer.Exit(1) from None
    finally:
        if record is not None:
            save_cassette(cassette, record)
            console.print(
                f"recorded {sum(len(t) for t in cassette.models.values())} turns to {record}",
                markup=False,
            )
    return result


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
    approve_all: ApproveAll = False,
    deny_all: DenyAll = False,
    model_text: ModelText = None,
) -> None:
    """Run one task live with the models and agents of a registry file."""
    dispatcher = Dispatcher.from_config(config, runs_dir=runs_dir)
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    approver = cli_approver(approve_all, deny_all, console)
    text = shows_model_text(model_text, console, as_json=as_json)
    try:
        result = anyio.run(
            functools.partial(
                run_with_progress, dispatcher, task, None, console, approver, model_text=text
            )
        )
    except ModelError as exc:
        raise ConfigError(
            f"a model call failed: {exc}",
            file=config,
            fix="check the model names, api_base and keys in the config",
        ) from None
    except RunError as exc:
        console.print(f"[red]run failed:[/] {escape(str(exc))}")
        if exc.trace_path:
            console.print(f"trace: {exc.trace_path}", markup=False)
        raise typer.Exit(1) from None
    _report(result, console, as_json)


def _record_into(registry: Registry, cassette: Cassette) -> None:
    inner_factory = registry.model_factory

    def recording(profile: ModelProfile) -> RecordingModel:
        return RecordingModel(
            inner_factory(profile), profile.name, cassette, provider_model=profile.provider_model
        )

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
    # As written (not rich markup, never re-wrapped), but with control characters shown as
    # escapes: model output must not drive the terminal. --json keeps it exact.
    console.file.flush()
    typer.echo(printable(result.answer) if result.answer is not None else "(no answer)")
    console.rule("route")
    for route in routes:
        console.print(f"[magenta]{escape(route.router)}[/] → {escape(str(route.chosen))}")
    console.rule(f"escalations ({len(escalations)})")
    for episode in escalations:
        price = "unpriced" if episode.cost_usd is None else f"${episode.cost_usd:.4f}"
        console.print(
            f"[yellow]{episode.trigger}[/] in {escape(episode.agent)}: "
            f"{escape(printable(episode.reason))} → "
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
        console.print(
            f"trace: {result.trace_path}  (dispatcher trace show {result.run_id})", markup=False
        )
