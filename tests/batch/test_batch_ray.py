"""`dispatcher batch --engine ray`: a local Ray instance, two worker processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from test_batch_command import EXAMPLE, write_tasks
from test_batch_resume import DISPATCHER


def test_the_ray_engine_runs_the_examples_task_and_resumes(tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a", "b", "c"])
    out = tmp_path / "results.jsonl"
    runs = tmp_path / "runs"
    out.write_text(json.dumps({"id": "c", "status": "ok"}) + "\n")  # done by an earlier batch
    command = [
        *DISPATCHER,
        "batch",
        str(tasks),
        "-c",
        str(EXAMPLE),
        "--out",
        str(out),
        "--engine",
        "ray",
        "--workers",
        "2",
        "--runs-dir",
        str(runs),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == ["a", "b", "c"]
    for line in lines[1:]:
        assert line["status"] == "ok"
        assert "Margaret Park" in line["answer"]
        # The workers' traces land in the runs folder.
        assert Path(line["trace"]).parent == runs.resolve()
        assert Path(line["trace"]).is_file()
    assert "1 skipped as already done" in done.stderr
