"""`dispatcher agents ls`: the registered specialists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dispatcher.cli.app import app
from dispatcher.errors import ConfigError
from dispatcher.registry.registry import Registry

# Built-in specialists that are registered only when their toolkit is configured.
_TOOLKIT_AGENTS = (("sql_analyst", "sql"), ("coder", "workspace"))

agents_app = typer.Typer(help="Registered specialist agents.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")


def load_registry(config: Path | None) -> Registry:
    """The registry of `config`, else ./dispatcher.yaml, else the built-ins alone."""
    if config is None and Path("dispatcher.yaml").is_file():
        config = Path("dispatcher.yaml")
    if config is None:
        registry = Registry()
        registry.load_plugins()
        return registry
    return Registry.from_file(config)


@agents_app.command("ls")
def ls(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Registry file (default ./dispatcher.yaml)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show each agent's name, tier or model, tools and description."""
    registry = load_registry(config)
    rows: list[dict[str, Any]] = []
    for agent in registry.agents.values():
        try:
            model = registry.profile_for(agent).name
        except ConfigError:
            model = "(no model configured)"
        rows.append(
            {
                "name": agent.name,
                "tier": agent.tier,
                "model": agent.model or model,
                "tools": agent.tool_names,
                "description": agent.description,
                "source": agent.source,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console = Console()
    table = Table("name", "tier / model", "tools", "description")
    table.columns[0].no_wrap = True
    table.columns[2].no_wrap = True
    table.columns[3].ratio = 1
    for row in rows:
        table.add_row(
            row["name"],
            f"{row['tier'] or '-'} / {row['model']}",
            "\n".join(row["tools"]) or "-",
            row["description"],
        )
    console.print(table)
    missing = [(name, kit) for name, kit in _TOOLKIT_AGENTS if name not in registry.agents]
    if missing:
        console.print(_toolkit_agents_hint(missing, registry.config.path), markup=False)


def _toolkit_agents_hint(missing: list[tuple[str, str]], config: Path | None) -> str:
    """Why built-in specialists are not listed: with a file, it lacks their toolkits; without
    one, the user should pass theirs."""
    listed = " and ".join(f"`{name}` (needs `toolkits.{kit}`)" for name, kit in missing)
    verb = "appears" if len(missing) == 1 else "appear"
    hint = f"The built-in {listed} {verb} when the registry file configures "
    hint += "that toolkit" if len(missing) == 1 else "those toolkits"
    if config is not None:
        return f"{hint}; this one does not ({config})."
    example = "dispatcher agents ls -c examples/sql_report/dispatcher.yaml"
    return f"{hint}: pass it with -c, e.g. `{example}`."
