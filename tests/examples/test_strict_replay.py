"""A replay is strict: it fails, naming the cassette entry, when the run departs from it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_runner import CliResult, run_cli

from dispatcher.trace.reader import list_runs, read_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "runs"
    monkeypatch.setenv("DISPATCHER_RUNS_DIR", str(folder))
    return folder


def _copy(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLES / name, folder)
    return folder


def _edit_cassette(folder: Path, change: Any) -> None:
    path = folder / "cassette.yaml"
    data = yaml.safe_load(path.read_text())
    change(data["models"])
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _run(folder: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> CliResult:
    return run_cli(["run", str(folder), *extra], capsys)


def _status(runs: Path) -> str:
    (trace,) = list_runs(runs)
    return str(read_trace(trace)[-1].status)  # type: ignore[attr-defined]


def test_a_different_task_does_not_replay_the_recorded_answer(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(EXAMPLES / "custom_specialist", capsys, "--task", "3 kg to France")
    assert result.exit_code == 2
    assert "models.small[0]" in result.stderr and "last message" in result.stderr
    assert "3 kg to France" in result.stderr and "fix:" in result.stderr
    assert "78.75" not in result.stdout
    assert _status(runs) == "error"


def test_a_tool_name_that_was_not_offered_fails_the_replay(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy("custom_specialist", tmp_path)

    def dotted(models: dict[str, Any]) -> None:
        models["small"][1]["tool_calls"][0]["name"] = "shipping.quote"

    _edit_cassette(folder, dotted)
    result = _run(folder, capsys)
    assert result.exit_code == 2
    assert "models.small[1]" in result.stderr and "'shipping.quote'" in result.stderr
    assert "shipping_quote" in result.stderr  # the offered wire names are listed
    assert _status(runs) == "error"


def test_an_unused_scripted_turn_fails_the_run(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy("custom_specialist", tmp_path)
    _edit_cassette(folder, lambda m: m["small"].append(dict(m["small"][-1])))
    result = _run(folder, capsys)
    assert result.exit_code == 2
    assert "never requested" in result.stderr and "models.small[4]" in result.stderr
    assert _status(runs) == "error"


def test_a_missing_scripted_turn_fails_the_run(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy("custom_specialist", tmp_path)
    _edit_cassette(folder, lambda m: m["small"].pop())
    result = _run(folder, capsys)
    assert result.exit_code == 2
    assert "no entry left for agent dispatcher" in result.stderr


def test_a_turn_without_a_recorded_request_needs_lenient(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy("custom_specialist", tmp_path)
    _edit_cassette(folder, lambda m: m["small"][2].pop("request"))
    strict = _run(folder, capsys)
    assert strict.exit_code == 2
    assert "models.small[2]" in strict.stderr and "no `request` record" in strict.stderr
    assert _run(folder, capsys, "--lenient").exit_code == 0


def test_a_changed_model_or_tool_list_fails_the_replay(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy("custom_specialist", tmp_path)
    config = folder / "dispatcher.yaml"
    config.write_text(config.read_text().replace("openai/gpt-4o-mini", "openai/gpt-4.1-nano"))
    result = _run(folder, capsys)
    assert result.exit_code == 2 and "model: recorded 'openai/gpt-4o-mini'" in result.stderr

    folder = _copy("sql_report", tmp_path / "again")
    _edit_cassette(folder, lambda m: m["small"][1]["request"]["tools"].remove("sql_describe_table"))
    result = _run(folder, capsys)
    assert result.exit_code == 2 and "tools: recorded" in result.stderr


def test_tool_results_that_contradict_the_recording_fail_the_replay(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As when pytest is missing: the tests cannot run, so the recorded "all pass" cannot stand.
    folder = _copy("fix_failing_test", tmp_path)
    shutil.rmtree(folder / "project" / "tests")
    result = _run(folder, capsys)
    assert result.exit_code == 2
    assert "workspace_run_tests" in result.stderr and "models.small[2]" in result.stderr
    assert "whole test suite passes" not in result.stdout
    assert _status(runs) == "error"


def test_a_long_message_that_differs_late_shows_where_it_differs(
    tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy("sql_report", tmp_path)

    def late_change(models: dict[str, Any]) -> None:
        last = models["strong"][0]["request"]["last"][0]
        last["content"] = last["content"].replace("threshold=2", "threshold=9")

    _edit_cassette(folder, late_change)
    result = _run(folder, capsys)
    assert result.exit_code == 2
    # Both excerpts start near the first difference, past the long shared opening.
    assert "threshold=9" in result.stderr and "threshold=2" in result.stderr
    assert "from character" in result.stderr


def test_a_replay_in_a_python_without_pytest_fails_instead_of_reporting_ok(
    tmp_path: Path,
    runs: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The coder's run_tests runs `sys.executable -m pytest`: point it at a venv without pytest.
    import subprocess
    import sys

    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    monkeypatch.setattr(sys, "executable", str(bare / "bin" / "python"))
    for extra in ((), ("--lenient",)):
        result = _run(EXAMPLES / "fix_failing_test", capsys, *extra)
        assert result.exit_code == 2, result.stdout + result.stderr
        assert "No module named pytest" in result.stderr and "models.small[2]" in result.stderr
        assert "whole test suite passes" not in result.stdout
    statuses = {str(read_trace(t)[-1].status) for t in list_runs(runs)}  # type: ignore[attr-defined]
    assert statuses == {"error"}
