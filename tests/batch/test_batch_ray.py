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


# In a subprocess (Ray must not start inside the test process); the tests folder is on the
# workers' PYTHONPATH so they can import the runner.
DYING_BATCH = """
import sys
from pathlib import Path
from dying_runner import DyingFactory
from dispatcher.batch import run_batch
summary = run_batch(Path(sys.argv[1]), Path(sys.argv[2]), DyingFactory(), engine="ray",
                    workers=2, concurrency=100)
print(summary.failed)
"""


def test_a_dead_ray_worker_fails_only_its_chunks(tmp_path: Path) -> None:
    import os
    import sys

    tasks = tmp_path / "tasks.jsonl"
    names = ["die", *[f"fine {n}" for n in range(7)]]
    tasks.write_text("".join(json.dumps({"id": n, "task": t}) + "\n" for n, t in enumerate(names)))
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    done = subprocess.run(
        [sys.executable, "-c", DYING_BATCH, str(tasks), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    by_id = {line["id"]: line for line in map(json.loads, out.read_text().splitlines())}
    assert sorted(by_id) == [str(n) for n in range(8)]  # every task has its line
    assert by_id["0"]["status"] == "error"
    assert "Ray worker failed" in by_id["0"]["error"]
    # The other worker's chunks finished normally.
    assert sum(line["status"] == "ok" for line in by_id.values()) >= 4
