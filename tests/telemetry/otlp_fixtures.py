"""A real sql_report trace, run once per test session (offline, from its cassette)."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path

from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app
from dispatcher.trace.events import Event
from dispatcher.trace.reader import read_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@cache
def sql_report_trace() -> Path:
    _register_subcommands()
    runs = Path(tempfile.mkdtemp(prefix="otel-fixture-"))
    result = CliRunner().invoke(
        app, ["run", str(EXAMPLES / "sql_report"), "--runs-dir", str(runs), "--json"]
    )
    assert result.exit_code == 0, result.output
    return Path(json.loads(result.stdout)["trace_path"])


def sql_report_events() -> list[Event]:
    return read_trace(sql_report_trace())
