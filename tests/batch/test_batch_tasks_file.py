"""A tasks file with no task in it is a user mistake, not a successful batch of nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli
from test_batch_command import EXAMPLE


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty", "blank-lines"])
def test_a_tasks_file_without_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(content)
    out = tmp_path / "results.jsonl"
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)], capsys)
    assert done.exit_code == 2, done.stderr
    assert "no tasks" in done.stderr and "fix:" in done.stderr
    assert not out.exists()
