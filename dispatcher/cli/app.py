"""The `dispatcher` command: sub-commands are registered here, one module each."""

from __future__ import annotations

import sys

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
    from dispatcher.cli import _agents, _detectors, _routers, _run, _serve, _trace  # noqa: F401


def main() -> None:
    """Console entry point: user mistakes print a one-line error and exit 2, no traceback."""
    _register_subcommands()
    try:
        app()
    except UserError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
