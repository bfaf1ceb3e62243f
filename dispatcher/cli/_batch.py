"""`dispatcher batch TASKS.jsonl -c CONFIG --out RESULTS.jsonl`: many tasks, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatcher.cli.app import app
from dispatcher.errors import ConfigError
from dispatcher.trace.sink import default_runs_dir


@app.command("batch")
def batch(
    tasks: Annotated[Path, typer.Argument(help='JSONL, one {"id", "task"} object a line.')],
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="A registry file (live models), or an example folder (its cassette is "
            "replayed for every task, offline).",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Results JSONL; ids already in it are skipped.")
    ],
    workers: Annotated[int, typer.Option(help="Ray worker processes (--engine ray).", min=1)] = 1,
    engine: Annotated[
        str, typer.Option(help="local (this process) or ray (worker processes).")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(help="Join this Ray cluster (e.g. auto); default: start a local one."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="Runs at once in each worker process.", min=1)
    ] = 100,
    redo_errors: Annotated[
        bool,
        typer.Option("--redo-errors", help="Also re-run ids whose result has status error."),
    ] = False,
    runs_dir: Annotated[
        Path | None, typer.Option(envvar="DISPATCHER_RUNS_DIR", help="Where traces go.")
    ] = None,
) -> None:
    """Run every task of TASKS.jsonl and append one result line per task to --out.

    Re-running the same command skips the ids already in --out, so a killed batch loses
    nothing that had finished. One task's failure is recorded (status error) and the batch
    goes on; the exit code is 1 when any task is not ok.
    """
    from dispatcher.batch import DispatcherRunnerFactory, run_batch

    if engine not in ("local", "ray"):
        raise ConfigError(f"unknown engine {engine!r}", fix="use --engine local or --engine ray")
    if not config.exists():
        raise ConfigError(
            "config not found",
            file=config,
            fix="pass a registry YAML file or an example folder (e.g. examples/sql_report)",
        )
    directory = (runs_dir or default_runs_dir()).resolve()
    factory = DispatcherRunnerFactory(str(config.resolve()), str(directory))
    factory()  # config mistakes are reported here, once, before any worker starts
    summary = run_batch(
        tasks,
        out,
        factory,
        engine="ray" if engine == "ray" else "local",
        workers=workers,
        concurrency=concurrency,
        ray_address=ray_address,
        redo_errors=redo_errors,
    )
    if summary.failed:
        raise typer.Exit(1)
