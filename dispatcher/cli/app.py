"""The `dispatcher` command: sub-commands are registered here, one module each."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

from dispatcher.errors import DataError, UserError

try:  # typer >= 0.22 ships its own copy of click
    from typer.exceptions import TyperException as _ClickError
except ImportError:  # pragma: no cover - older typer on click
    from click import ClickException as _ClickError  # type: ignore[assignment]

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
    """Console entry point: user mistakes print `error:` and `fix:` lines and exit 2, no traceback.

    Mistakes are typer's usage errors (an unknown option, a value of the wrong type), our
    `UserError`s, and a path naming the wrong kind of file system entry.
    """
    _register_subcommands()
    command = typer.main.get_command(app)
    _hide_flag_metavars(command)
    args = sys.argv[1:]
    try:
        code = command.main(args=args, standalone_mode=False)
    except UserError as exc:
        _fail(str(exc), _default_fix(exc, command, args))
    except _ClickError as exc:
        _usage_error(exc)
    except typer.Abort:  # end of input (Ctrl-D) at a prompt: typer's own message and code
        typer.echo("Aborted!", err=True)
        sys.exit(1)
    except UnicodeDecodeError as exc:  # a reader that does not say which file: still no trace
        _fail(
            f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start})",
            "pass text files saved as UTF-8 (is each path the file you meant?)",
        )
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave (a socket, a pipe...)
            raise
        _fail(
            f"{exc.filename2 or exc.filename}: {exc.strerror or exc}",
            "check the path: a folder where a folder is expected, a file where a file is, "
            "and the permission to read or write it",
        )
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, fix: str | None) -> NoReturn:
    text = message if fix is None else f"{message}\n  fix: {fix}"
    typer.secho(f"error: {text}", err=True, fg=typer.colors.RED)
    sys.exit(2)


def _default_fix(exc: UserError, command: Any, args: list[str]) -> str | None:
    """A fix line for an error raised without one."""
    if "\n  fix:" in str(exc):
        return None
    path = _command_path(command, args)
    what = "the file formats it reads" if isinstance(exc, DataError) else "what each option takes"
    return f"do what the message above says; `{path} --help` describes {what}"


def _command_path(command: Any, args: list[str]) -> str:
    words = ["dispatcher"]
    for arg in args:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            break
        words.append(arg)
        command = sub
    return " ".join(words)


def _usage_error(exc: Any) -> NoReturn:
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help is the answer
        exc.show()
        sys.exit(exc.exit_code)
    if exc.exit_code != 2:  # not a usage mistake (typer's Abort, a click FileError...)
        exc.show()
        sys.exit(exc.exit_code)
    path = ctx.command_path if ctx is not None else "dispatcher"
    if ctx is not None:
        typer.echo(ctx.get_usage(), err=True)
    _fail(exc.format_message(), f"see `{path} --help` for the arguments and options it accepts")
