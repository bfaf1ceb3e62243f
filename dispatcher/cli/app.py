"""The `dispatcher` command: sub-commands are registered here, one module each."""

from __future__ import annotations

import sys
from typing import Any

import typer

from dispatcher.errors import UserError

__all__ = ["app", "main"]

app = typer.Typer(
    name="dispatcher",
    help="Route work between language models; inspect runs and their escalations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_subcommands() -> None:
    # Each sub-command module adds itself to `app`; imported here so `--help` lists them.
    import dispatcher.cli._batch  # noqa: F401 (issue 19: `dispatcher batch`)
    from dispatcher.cli import _agents, _detectors, _routers, _run, _serve, _trace  # noqa: F401
    from dispatcher.cli import _feedback as _feedback


def _hide_flag_metavars(command: Any) -> None:
    # typer labels value-less flags such as `--live` with `<bool>`, as if they took a value.
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    make_help_option = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _hide_flag_metavars(sub)


def main() -> None:
    """Console entry point: user mistakes print a one-line error and exit 2, no traceback."""
    _register_subcommands()
    command = typer.main.get_command(app)
    _hide_flag_metavars(command)
    try:
        command()
    except UserError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
