"""`dispatcher run examples/mcp_tools` replays offline; its tools are served by its MCP server."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app
from dispatcher.trace.reader import read_trace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mcp_tools"
_register_subcommands()


def test_the_mcp_example_runs_strictly_with_tool_calls_served_by_its_server(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(app, ["run", str(EXAMPLE), "--runs-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert "30.48" in payload["answer"] and "1.361" in payload["answer"]
    events = read_trace(Path(payload["trace_path"]))
    calls = [e for e in events if e.kind == "tool_call"]  # type: ignore[attr-defined]
    assert [(c.source, c.ok, c.output) for c in calls] == [  # type: ignore[attr-defined]
        ("mcp:units", True, "12 in = 30.48 cm"),
        ("mcp:units", True, "3 lb = 1.361 kg"),
    ]
    assert events[-1].status == "ok"  # type: ignore[attr-defined]
    shown = CliRunner().invoke(
        app, ["trace", "show", payload["run_id"], "--runs-dir", str(tmp_path)]
    )
    assert "tool units_convert [mcp:units]" in shown.output
