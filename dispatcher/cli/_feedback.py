"""`dispatcher feedback RUN_ID --reward R`: a run's outcome updates the router that routed it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from dispatcher.cli.app import app
from dispatcher.errors import ConfigError, DataError
from dispatcher.trace.reader import find_run


@app.command("feedback")
def feedback(
    run: Annotated[str, typer.Argument(help="The run id (or `latest`, or a trace .jsonl path).")],
    reward: Annotated[float, typer.Option(help="How well the run went, e.g. 1 (good) or 0 (bad).")],
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="The registry file whose dispatcher.router learns."),
    ] = Path("dispatcher.yaml"),
    runs_dir: Annotated[
        Path | None, typer.Option(envvar="DISPATCHER_RUNS_DIR", help="Where the traces are.")
    ] = None,
) -> None:
    """Update the router's decision(s) in a run with its reward; the trace gets a `feedback`
    event. A run takes feedback once."""
    from dispatcher.feedback import give_feedback
    from dispatcher.registry.config import load_registry_config
    from dispatcher.routing import build_router

    if not math.isfinite(reward):
        raise ConfigError(f"the reward must be finite, got {reward}", fix="e.g. --reward 1")
    try:
        trace = find_run(run, runs_dir)
    except DataError as exc:
        raise ConfigError(
            str(exc), fix="`dispatcher trace ls` lists the runs; or pass --runs-dir"
        ) from None
    registry_config = load_registry_config(config)
    settings = registry_config.settings
    if not settings.router:
        raise ConfigError(
            "this registry has no router to give feedback to",
            file=config,
            field="dispatcher.router",
            fix="configure `router: {type: bandit, arms: [...], state_path: bandit.json}`",
        )
    router = build_router(settings.router, base_dir=registry_config.base_dir)
    if getattr(router, "file_store", None) is None and getattr(router, "_store", None) is None:
        raise ConfigError(
            "the router keeps no state, so this feedback would be lost when the command ends",
            file=config,
            field="dispatcher.router.state_path",
            fix="set state_path: bandit.json (shared by every process using this router)",
        )
    event = give_feedback(trace, router, reward, source="cli")
    typer.echo(
        f"feedback {event.reward:g} for run {event.run_id}: updated {event.router} "
        f"on {', '.join(event.routes)}"
    )
