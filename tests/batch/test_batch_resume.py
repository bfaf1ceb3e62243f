"""A batch killed with SIGKILL resumes: finished ids are never run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_batch_command import EXAMPLE, write_tasks

DISPATCHER = [sys.executable, "-c", "from dispatcher.cli import main; main()"]


def _complete_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    text = path.read_text()
    return text[: text.rfind("\n") + 1].splitlines()


def test_a_killed_batch_resumes_without_redoing_finished_ids(tmp_path: Path) -> None:
    ids = [f"t{n:02d}" for n in range(40)]
    tasks = write_tasks(tmp_path / "tasks.jsonl", ids)
    out = tmp_path / "results.jsonl"
    runs = tmp_path / "runs"
    command = [
        *DISPATCHER,
        "batch",
        str(tasks),
        "-c",
        str(EXAMPLE),
        "--out",
        str(out),
        "--concurrency",
        "1",
        "--runs-dir",
        str(runs),
    ]
    batch = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_complete_lines(out)) < 3 and batch.poll() is None:
        assert time.monotonic() < deadline, "the batch wrote no results"
        time.sleep(0.01)
    os.kill(batch.pid, signal.SIGKILL)
    batch.wait()
    before = _complete_lines(out)
    assert 3 <= len(before) < len(ids), "the batch must be killed part-way"
    traces_before = len(list(runs.glob("*.jsonl")))

    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    after = _complete_lines(out)
    assert after[: len(before)] == before  # the saved results are untouched
    finished = [json.loads(line)["id"] for line in after]
    assert sorted(finished) == ids  # every id once: none lost, none redone
    assert f"{len(before)} skipped as already done" in again.stderr
    # Only the ids without a result ran again (each run writes one trace).
    assert len(list(runs.glob("*.jsonl"))) == traces_before + len(ids) - len(before)
