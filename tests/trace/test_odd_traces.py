"""Traces no dispatcher wrote but a user may pass: every problem is an error naming the line,
and odd but valid span trees still render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

from dispatcher.errors import DataError
from dispatcher.trace.reader import read_trace


def _line(kind: str, span: str, parent: str | None, ts: str, **fields: object) -> str:
    base = {"run_id": "r1", "ts": ts, "span_id": span, "parent_id": parent, "kind": kind}
    return json.dumps({**base, **fields})


_OK = "2026-12-06T10:00:00+00:00"


def _trace(tmp_path: Path, agent_ts: str, agent_parent: str = "s1") -> Path:
    lines = [
        _line("run_started", "s1", None, _OK, task="t"),
        _line("agent_started", "s2", agent_parent, agent_ts, agent="a", model="m", role="worker"),
        _line(
            "run_finished",
            "s3",
            "s1",
            _OK,
            status="ok",
            cost_usd=None,
            counterfactual_cost_usd=None,
        ),
    ]
    path = tmp_path / "r1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("ts", ["not a time", "", "99999-01-01T00:00:00"])
def test_a_time_that_is_no_iso_time_is_a_data_error_naming_the_line(
    tmp_path: Path, ts: str
) -> None:
    with pytest.raises(DataError, match=r"r1\.jsonl:2: not a valid trace event \(.*ts"):
        read_trace(_trace(tmp_path, ts))


@pytest.mark.parametrize("command", ["html", "export", "show"])
def test_html_export_and_show_of_a_trace_with_a_bad_time_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = _trace(tmp_path, "not a time")
    args = ["trace", command, str(path)]
    if command != "show":
        args += ["-o", str(tmp_path / "out")]
    result = run_cli(args, capsys)
    assert result.exit_code == 2, result.stderr
    assert "r1.jsonl:2" in result.stderr


@pytest.mark.parametrize("parent", ["s2", "s3", "nowhere"], ids=["self", "cycle", "orphan"])
@pytest.mark.parametrize("command", ["html", "export", "show"])
def test_odd_span_trees_still_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, parent: str
) -> None:
    path = _trace(tmp_path, _OK, agent_parent=parent)
    args = ["trace", command, str(path)]
    if command != "show":
        args += ["-o", str(tmp_path / "out")]
    assert run_cli(args, capsys).exit_code == 0


def test_an_unreadable_trace_says_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _trace(tmp_path, _OK)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    result = run_cli(["trace", "show", str(path)], capsys)
    assert result.exit_code == 2
    assert "Permission denied" in result.stderr
    assert result.stderr.count("cannot read the trace") == 1, result.stderr


def _finished_with_cost(tmp_path: Path, cost: str) -> Path:
    started = _line("run_started", "s1", None, _OK, task="t")
    # json.dumps would write NaN too, but the cost is spliced in as text to be explicit.
    finished = _line(
        "run_finished", "s3", "s1", _OK, status="ok", cost_usd=0.0, counterfactual_cost_usd=1.0
    ).replace('"cost_usd": 0.0', f'"cost_usd": {cost}')
    path = tmp_path / "r1.jsonl"
    path.write_text(started + "\n" + finished + "\n")
    return path


@pytest.mark.parametrize("cost", ["NaN", "Infinity", "-Infinity"])
def test_a_number_that_is_not_finite_is_a_data_error_naming_the_line(
    tmp_path: Path, cost: str
) -> None:
    # dispatcher never writes one (its writer turns them into null); read back, NaN or
    # Infinity made `trace stats --json` and `trace show --json` print text that is not JSON.
    with pytest.raises(DataError, match=r"r1\.jsonl:2: not a valid trace event \(.*cost_usd"):
        read_trace(_finished_with_cost(tmp_path, cost))


@pytest.mark.parametrize("command", [["stats", "--json"], ["ls", "--json"], ["show", "--json"]])
def test_json_output_of_a_trace_holding_nan_is_json_or_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _finished_with_cost(tmp_path, "NaN")
    args = ["trace", *command, "--runs-dir", str(tmp_path)]
    if command[0] == "show":
        args.insert(2, "r1")
    result = run_cli(args, capsys)
    if result.exit_code == 0:
        json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    else:
        assert result.exit_code == 2 and "r1.jsonl:2" in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["html", "export"])
@pytest.mark.parametrize("by", ["path", "run id"])
def test_writing_over_the_trace_being_read_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, by: str
) -> None:
    # `trace html r1.jsonl -o r1.jsonl` replaced the run's trace with the page: the run lost.
    path = _trace(tmp_path, _OK)
    before = path.read_bytes()
    run = str(path) if by == "path" else "r1"
    result = run_cli(["trace", command, run, "-o", str(path), "--runs-dir", str(tmp_path)], capsys)
    assert result.exit_code == 2 and "fix:" in result.stderr, result.stderr
    assert path.read_bytes() == before


def test_trace_ls_shows_a_run_file_name_with_control_characters_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The run column is the file's name: an escape sequence in it reached the terminal.
    path = _trace(tmp_path, _OK)
    path.rename(tmp_path / "r1\x1b]0;owned\x07\x1b[2J.jsonl")
    result = run_cli(["trace", "ls", "--runs-dir", str(tmp_path)], capsys)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b" in result.stdout


def test_trace_ls_shows_a_task_holding_rich_markup_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # room for the whole task
    # A task is user text: '[/]' in it ended `trace ls` with rich's MarkupError traceback,
    # and '[link=...]' made a hidden link on the terminal.
    task = "[/] fix [link=https://evil.example]this[/link]"
    (tmp_path / "r1.jsonl").write_text(_line("run_started", "s1", None, _OK, task=task) + "\n")
    result = run_cli(["trace", "ls", "--runs-dir", str(tmp_path)], capsys)
    assert result.exit_code == 0, result.stderr
    assert "[/] fix [link=https://evil.example]this" in " ".join(result.stdout.split())


def _chain(tmp_path: Path, depth: int) -> Path:
    """A trace whose agents nest `depth` deep (each started by the one before)."""
    lines = [_line("run_started", "s0", None, _OK, task="t")]
    lines += [
        _line("agent_started", f"s{i}", f"s{i - 1}", _OK, agent="a", model="m")
        for i in range(1, depth + 1)
    ]
    path = tmp_path / "r1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("command", ["html", "show"])
def test_spans_nested_thousands_deep_are_an_error_not_a_recursion_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = ["trace", command, str(_chain(tmp_path, 3000))]
    if command == "html":
        args += ["-o", str(tmp_path / "out.html")]
    result = run_cli(args, capsys)
    assert result.exit_code == 2 and "fix:" in result.stderr, result.stderr
    assert "nested" in result.stderr


@pytest.mark.parametrize("command", ["html", "show"])
def test_spans_nested_a_hundred_deep_still_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    args = ["trace", command, str(_chain(tmp_path, 99))]
    if command == "html":
        args += ["-o", str(tmp_path / "out.html")]
    assert run_cli(args, capsys).exit_code == 0


def test_the_readers_take_paths_as_text(tmp_path: Path) -> None:
    # read_trace('r1.jsonl') failed with AttributeError: 'str' has no 'read_bytes'.
    from dispatcher.trace.reader import find_run, list_run_refs, list_runs, locate_run

    path = _trace(tmp_path, _OK)
    assert read_trace(str(path))[0].kind == "run_started"  # type: ignore[arg-type]
    folder: Any = str(tmp_path)
    assert list_runs(folder) == [path]
    assert [r.run_id for r in list_run_refs(folder)] == ["r1"]
    assert locate_run("r1", folder).path == path
    assert find_run("r1", folder) == path


@pytest.mark.parametrize("command", ["html", "show"])
def test_spans_sharing_an_id_still_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # A second agent and an escalation reusing the agent's span id, under it: the page drew
    # the agent inside itself without end (RecursionError traceback).
    again = _line("agent_started", "s2", "s2", _OK, agent="b", model="m")
    escalation = _line(
        "escalation", "s2", "s2", _OK, trigger="self", reason="r", from_model="a",
        to_model="b", mode="advise", outcome="advised",
    )  # fmt: skip
    path = _trace(tmp_path, _OK)
    path.write_text(path.read_text() + again + "\n" + escalation + "\n")
    args = ["trace", command, str(path)]
    if command == "html":
        args += ["-o", str(tmp_path / "out.html")]
    result = run_cli(args, capsys)
    assert result.exit_code == 0, result.stderr


def test_trace_show_escapes_control_characters_inside_lists_and_mappings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only top-level text fields were made printable: an OSC 52 (write the clipboard) in a
    # detector's evidence, a run's error or its unpriced models reached the terminal.
    osc = "\x1b]52;c;ZXZpbA==\x07"
    lines = [
        _line("run_started", "s1", None, _OK, task="t"),
        _line("agent_started", "s2", "s1", _OK, agent="a", model="m"),
        _line("detector", "s4", "s2", _OK, detector="d", agent="a", verdict="v", step=1,
              evidence={osc: [osc]}),
        _line("run_finished", "s3", "s1", _OK, status="error", cost_usd=None,
              counterfactual_cost_usd=None, unpriced_models=[osc],
              error={"type": osc, "message": osc}),
    ]  # fmt: skip
    path = tmp_path / "r1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = run_cli(["trace", "show", str(path)], capsys)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\\x1b]52" in result.stdout
