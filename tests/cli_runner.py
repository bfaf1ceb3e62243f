"""Run the `dispatcher` console entry point in-process, as a user's shell would."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from dispatcher.cli import main


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> CliResult:
    """`dispatcher ARGS` through `main()`: user mistakes exit 2 with `error:` and no traceback."""
    capsys.readouterr()
    saved = sys.argv
    sys.argv = ["dispatcher", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
