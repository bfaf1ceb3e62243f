"""`--out` that is not a results file is left untouched: only a torn results line is cut."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from test_batch_command import EXAMPLE, write_tasks


@pytest.mark.parametrize(
    "content",
    [b"my notes, with no newline at the end", b"\xff\xfe\x00binary", b"line one\nline two"],
    ids=["text", "binary", "text-with-lines"],
)
def test_a_file_that_is_not_results_is_refused_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    out = tmp_path / "notes.txt"
    out.write_bytes(content)
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)], capsys)
    assert done.exit_code == 2, done.stderr
    assert "error:" in done.stderr and "fix:" in done.stderr
    assert out.read_bytes() == content


@pytest.mark.parametrize("tail", ['{"id": "a", "stat', '{"i', "{"])
def test_a_torn_results_line_is_still_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tail: str
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    out = tmp_path / "results.jsonl"
    out.write_text(tail)
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)], capsys)
    assert done.exit_code == 0, done.stderr
    assert out.read_text().startswith('{"id": "a"')


def test_out_that_is_a_device_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", "/dev/zero"], capsys)
    assert done.exit_code == 2, done.stderr
    assert "device or a pipe" in done.stderr and "fix:" in done.stderr
