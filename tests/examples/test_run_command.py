"""`dispatcher run` as a newcomer uses it: from the repository root, default flags."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from cli_runner import run_cli

from dispatcher.trace.reader import list_runs, read_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def repo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding copies of the examples, with the default runs folder."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISPATCHER_RUNS_DIR", raising=False)
    return tmp_path


def _finished(root: Path) -> object:
    (trace,) = list_runs(root / ".dispatcher" / "runs")
    return read_trace(trace)[-1]


def test_an_example_with_a_workspace_runs_from_the_repository_root(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(["run", "examples/fix_failing_test"], capsys)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert _finished(repo_root).status == "ok"  # type: ignore[attr-defined]


def _set_final_answer(folder: Path, answer: str) -> None:
    cassette = folder / "cassette.yaml"
    data = yaml.safe_load(cassette.read_text())
    data["models"]["small"][-1]["text"] = answer
    cassette.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


ODD_ANSWER = (
    "Use (ordered[mid - 1] + ordered[mid]) / 2 for an even count; [bold]not bold[/bold], "
    "a backslash \\[x] and a line far longer than eighty columns so that a console would wrap "
    "it somewhere in the middle.\n\n  indented line, trailing spaces   \nlast"
)


def test_the_printed_answer_is_the_traced_answer_byte_for_byte(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_final_answer(repo_root / "examples" / "custom_specialist", ODD_ANSWER)
    result = run_cli(["run", "examples/custom_specialist"], capsys)
    assert result.exit_code == 0, result.stdout + result.stderr
    traced = _finished(repo_root).answer  # type: ignore[attr-defined]
    assert traced == ODD_ANSWER
    lines = result.stdout.split("\n")
    start = next(i for i, line in enumerate(lines) if "answer" in line and "─" in line)
    end = next(i for i, line in enumerate(lines) if "route" in line and "─" in line)
    assert "\n".join(lines[start + 1 : end]) == traced


def test_a_failed_run_leaves_no_workspace_copy_behind(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = repo_root / "examples" / "fix_failing_test"
    data = yaml.safe_load((folder / "cassette.yaml").read_text())
    data["models"]["small"] = data["models"]["small"][:3]  # the script ends early
    (folder / "cassette.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = run_cli(["run", "examples/fix_failing_test"], capsys)
    assert result.exit_code != 0
    runs = repo_root / ".dispatcher" / "runs"
    assert not list(runs.glob("*.workspace"))


def test_boolean_flags_are_shown_without_a_value_placeholder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cli(["run", "--help"], capsys)
    assert result.exit_code == 0
    assert "--live" in result.stdout
    assert "<bool>" not in result.stdout and "BOOLEAN" not in result.stdout


@pytest.mark.parametrize(
    "name", sorted(p.name for p in EXAMPLES.iterdir() if (p / "example.yaml").is_file())
)
def test_every_example_answers_with_its_expected_facts(
    name: str, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(["run", f"examples/{name}", "--json"], capsys)
    assert result.exit_code == 0, result.stdout + result.stderr
    expected = yaml.safe_load((EXAMPLES / name / "example.yaml").read_text()).get("expect", {})
    answer = _finished(repo_root).answer  # type: ignore[attr-defined]
    for fact in expected.get("answer_contains", []):
        assert fact in answer
