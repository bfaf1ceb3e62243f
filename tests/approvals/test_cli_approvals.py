"""`dispatcher run` decides approvals with --approve-all / --deny-all, or asks at a terminal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anyio
import pytest
from cli_runner import run_cli
from rich.console import Console
from typer.testing import CliRunner

from dispatcher.approvals import ApprovalRequest
from dispatcher.cli._approve import cli_approver
from dispatcher.cli.app import _register_subcommands, app
from dispatcher.trace.reader import read_trace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_specialist"
_register_subcommands()


def _example_requiring_approval(tmp_path: Path) -> Path:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    config = folder / "dispatcher.yaml"
    config.write_text(config.read_text() + "  requires_approval: [shipping.quote]\n")
    return folder


def test_approve_all_lets_the_run_finish_and_traces_the_decision(tmp_path: Path) -> None:
    folder = _example_requiring_approval(tmp_path)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["run", str(folder), "--runs-dir", str(runs), "--json", "--approve-all"]
    )
    assert result.exit_code == 0, result.output
    events = read_trace(Path(json.loads(result.stdout)["trace_path"]))
    approvals = [e for e in events if e.kind == "approval"]  # type: ignore[attr-defined]
    assert [(a.stage, a.decision) for a in approvals] == [  # type: ignore[attr-defined]
        ("requested", None),
        ("decided", "approve"),
    ]


def test_deny_all_denies_the_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _example_requiring_approval(tmp_path)
    runs = tmp_path / "runs"
    result = run_cli(["run", str(folder), "--runs-dir", str(runs), "--deny-all"], capsys)
    # The cassette recorded the approved result, so the strict replay stops on the denial.
    assert result.exit_code == 2, result.stderr
    (trace,) = runs.glob("*.jsonl")
    denied = [e for e in read_trace(trace) if e.kind == "tool_call"]  # type: ignore[attr-defined]
    assert denied[0].error_kind == "denied"  # type: ignore[attr-defined]


def test_both_flags_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(EXAMPLE), "--runs-dir", str(tmp_path), "--approve-all", "--deny-all"]
    result = run_cli(args, capsys)
    assert result.exit_code == 2
    assert "error:" in result.stderr and "fix:" in result.stderr


def test_without_a_terminal_the_prompt_denies_and_says_how_to_decide() -> None:
    ask = cli_approver(False, False, Console())
    request = ApprovalRequest(run_id="r", agent="a", tool="t", call_id="c", arguments={})
    decision = anyio.run(ask, request)  # CliRunner/pytest stdin is not a TTY
    assert decision.decision == "deny" and "--approve-all" in decision.reason


def test_trace_schema_lists_the_approval_and_feedback_kinds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cli(["trace", "schema"], capsys)
    assert result.exit_code == 0
    kinds = set()
    for definition in json.loads(result.stdout)["$defs"].values():
        kind = definition.get("properties", {}).get("kind", {})
        if "const" in kind:
            kinds.add(kind["const"])
    assert {"approval", "feedback"} <= kinds
