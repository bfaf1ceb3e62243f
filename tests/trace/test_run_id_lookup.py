"""What `trace show/html/export` and `feedback` take as a run: an id, an id prefix, `latest`
or a .jsonl path. Anything else is a clear error, never some run that happens to match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from dispatcher.errors import DataError
from dispatcher.trace.reader import find_run, locate_run, read_run


def _event(run_id: str, kind: str, **fields: object) -> str:
    base = {"run_id": run_id, "ts": "2026-12-06T10:00:00+00:00", "span_id": "s1"}
    return json.dumps({**base, "kind": kind, **fields}, separators=(",", ":"))


def _runs(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    (runs / "gateway").mkdir(parents=True)
    own = "20261206T100000-aaaa0001"
    (runs / f"{own}.jsonl").write_text(_event(own, "run_started", task="mine") + "\n")
    shared = "20261206T100001-bbbb0001"
    lines = [
        _event(shared, "run_started", task="in the gateway's file"),
        _event(shared, "run_finished", status="ok", cost_usd=None, counterfactual_cost_usd=None),
    ]
    (runs / "gateway" / "1-1.jsonl").write_text("\n".join(lines) + "\n")
    return runs


@pytest.mark.parametrize(
    "run",
    ["", "  ", "../x", "/etc/passwd", '20261206T100001-bbbb0001","ts', "a\\b", "a\nb", "x" * 129],
    ids=["empty", "blank", "parent", "absolute", "quote", "backslash", "newline", "too-long"],
)
def test_a_run_that_is_no_run_id_is_a_clear_error(tmp_path: Path, run: str) -> None:
    runs = _runs(tmp_path)
    with pytest.raises(DataError, match="is not a run id"):
        locate_run(run, runs)
    with pytest.raises(DataError, match="is not a run id"):
        find_run(run, runs)


def test_ids_prefixes_latest_and_paths_still_work(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    assert locate_run("20261206T100001-bbbb0001", runs).shared
    assert locate_run("20261206T100000-a", runs).run_id == "20261206T100000-aaaa0001"
    assert locate_run("latest", runs).run_id == "20261206T100000-aaaa0001"  # newest write
    path = runs / "20261206T100000-aaaa0001.jsonl"
    assert locate_run(str(path)).path == path
    assert find_run("20261206T100000", runs) == path


def test_trace_show_of_a_quoted_id_names_the_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _runs(tmp_path)
    result = run_cli(
        ["trace", "show", '20261206T100001-bbbb0001","ts', "--runs-dir", str(runs)], capsys
    )
    assert result.exit_code == 2
    assert "is not a run id" in result.stderr and "holds no trace events" not in result.stderr


def test_trace_show_with_a_runs_dir_that_is_a_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_folder = tmp_path / "runs"
    not_a_folder.write_text("x")
    result = run_cli(["trace", "show", "latest", "--runs-dir", str(not_a_folder)], capsys)
    assert result.exit_code == 2
    assert "is a file, not a folder" in result.stderr


@pytest.mark.parametrize("command", ["html", "export"])
def test_html_and_export_with_a_runs_dir_that_is_a_file_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    not_a_folder = tmp_path / "runs"
    not_a_folder.write_text("x")
    args = [
        "trace",
        command,
        "latest",
        "-o",
        str(tmp_path / "out"),
        "--runs-dir",
        str(not_a_folder),
    ]
    result = run_cli(args, capsys)
    assert result.exit_code == 2
    assert "is a file, not a folder" in result.stderr


def test_trace_stats_counts_a_run_named_twice_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _runs(tmp_path)
    shared = "20261206T100001-bbbb0001"
    args = ["trace", "stats", shared, "20261206T100001-b", "--runs-dir", str(runs), "--json"]
    result = run_cli(args, capsys)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["runs"] == 1 and summary["statuses"] == {"ok": 1}


def test_trace_ls_shows_a_multi_line_task_on_one_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    runs = tmp_path / "runs"
    runs.mkdir()
    run_id = "20261206T100000-cccc0001"
    task = "first line\nsecond line\r\n\tthird"
    (runs / f"{run_id}.jsonl").write_text(_event(run_id, "run_started", task=task) + "\n")
    result = run_cli(["trace", "ls", "--runs-dir", str(runs)], capsys)
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if run_id in line)
    assert "first line second line third" in row


def test_a_shared_file_passed_as_a_path_is_not_shown_as_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two runs in one gateway file: showing the first with the other's events mixed in (or
    # counting one run in stats) would be silently wrong.
    runs = tmp_path / "runs"
    (runs / "gateway").mkdir(parents=True)
    ids = ["20261206T110000-aaaa0001", "20261206T110000-bbbb0002"]
    lines = [_event(r, "run_started", task=f"task of {r}") for r in ids]
    done = {"status": "ok", "cost_usd": 0.5, "counterfactual_cost_usd": 1.0}
    lines += [_event(r, "run_finished", **done) for r in ids]
    shared = runs / "gateway" / "1-2.jsonl"
    shared.write_text("\n".join(lines) + "\n")
    ref = locate_run(str(shared))
    with pytest.raises(DataError, match=r"1-2\.jsonl: holds 2 runs .*20261206T110000-aaaa0001"):
        read_run(ref)
    result = run_cli(["trace", "show", str(shared)], capsys)
    assert result.exit_code == 2 and "holds 2 runs" in result.stderr
    # By id, each run is found in the shared file as usual.
    assert read_run(locate_run(ids[1], runs))[0].task == f"task of {ids[1]}"  # type: ignore[union-attr]
