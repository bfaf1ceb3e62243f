"""`dispatcher trace ls/show` and `agents ls` as a newcomer reads them, at 80 columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from scenario import registry

from dispatcher import Agent, Dispatcher, RunError, tool


@tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


def _failed_run(runs: Path) -> RunError:
    agent = Agent(name="helper", description="Echoes.", tools=[echo], tier="weak")
    reg, _, _ = registry([agent], small=[])  # the first model call finds no scripted turn
    with pytest.raises(Exception) as caught:
        Dispatcher(reg, runs_dir=runs).run_sync(
            "Say hi to every customer of the shop in their own language, politely and briefly."
        )
    return caught.value  # type: ignore[return-value]


def test_trace_show_of_a_failed_run_shows_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    error = _failed_run(tmp_path)
    result = run_cli(["trace", "show", "latest", "--runs-dir", str(tmp_path)], capsys)
    assert result.exit_code == 0, result.stderr
    assert "UnexpectedModelCall" in result.stdout
    assert str(error)[:60] in " ".join(result.stdout.split())


def test_trace_ls_shows_whole_run_ids_at_80_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _failed_run(tmp_path)
    (trace,) = tmp_path.glob("*.jsonl")
    result = run_cli(["trace", "ls", "--runs-dir", str(tmp_path)], capsys)
    assert result.exit_code == 0
    assert trace.stem in result.stdout
    assert "status" in result.stdout and "error" in result.stdout and "Say hi" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_trace_show_of_an_unknown_run_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(["trace", "show", "nope", "--runs-dir", str(tmp_path)], capsys)
    assert result.exit_code == 2
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    assert "fix:" in result.stderr


def test_agents_ls_without_a_config_explains_the_toolkit_agents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(["agents", "ls"], capsys)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "overwatch" in text
    assert "sql_analyst" in text and "toolkits.sql" in text
    assert "coder" in text and "toolkits.workspace" in text
    assert "-c" in text


def test_agents_ls_with_a_config_does_not_suggest_running_it_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """README's `agents ls -c examples/sql_report/dispatcher.yaml` must not answer "pass it with
    -c, e.g. `dispatcher agents ls -c examples/sql_report/dispatcher.yaml`"."""
    config = Path(__file__).resolve().parents[2] / "examples" / "sql_report" / "dispatcher.yaml"
    result = run_cli(["agents", "ls", "-c", str(config)], capsys)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "sql_analyst" in text and "pass it with -c" not in text
    assert "`coder` (needs `toolkits.workspace`) appears when the registry file configures" in text
    assert "this one does not" in text


def test_a_damaged_trace_does_not_hide_the_other_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _failed_run(tmp_path)
    (tmp_path / "20200101T000000-deadbeef.jsonl").write_text('{"kind": "nonsense"}\n{}\n')
    listed = run_cli(["trace", "ls", "--runs-dir", str(tmp_path)], capsys)
    assert listed.exit_code == 0, listed.stderr
    assert "unreadable" in listed.stdout and "error" in listed.stdout
    shown = run_cli(["trace", "show", "20200101T000000", "--runs-dir", str(tmp_path)], capsys)
    assert shown.exit_code == 2 and "fix:" in shown.stderr
