"""`dispatcher batch` on the sql_report example's task, offline (its cassette is replayed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from dispatcher.examples import load_example

EXAMPLE = Path(__file__).parents[2] / "examples" / "sql_report"


def write_tasks(path: Path, ids: list[str], task: str | None = None) -> Path:
    text = task or load_example(EXAMPLE).task
    path.write_text("".join(json.dumps({"id": i, "task": text}) + "\n" for i in ids))
    return path


def results(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_task_gets_one_contract_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a", "b"])
    out = tmp_path / "results.jsonl"
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)], capsys)
    assert done.exit_code == 0, done.stderr
    lines = results(out)
    assert sorted(line["id"] for line in lines) == ["a", "b"]  # type: ignore[type-var]
    for line in lines:
        assert list(line) == [
            "id",
            "status",
            "answer",
            "cost_usd",
            "counterfactual_cost_usd",
            "escalations",
            "trace",
        ]
        assert line["status"] == "ok"
        assert "Margaret Park" in str(line["answer"])
        assert line["escalations"] == 1
        assert Path(str(line["trace"])).is_file()
    assert "done 2 · failed 0" in done.stderr


def test_a_rerun_skips_finished_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    out = tmp_path / "results.jsonl"
    args = ["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)]
    assert run_cli(args, capsys).exit_code == 0
    write_tasks(tasks, ["a", "b"])
    again = run_cli(args, capsys)
    assert again.exit_code == 0
    assert [line["id"] for line in results(out)] == ["a", "b"]
    assert "1 skipped as already done" in again.stderr


def test_one_failing_task_does_not_stop_the_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, ["good"])
    with tasks.open("a") as file:  # a task the cassette has no turns for: that run fails
        file.write(json.dumps({"id": "off-script", "task": "Something else"}) + "\n")
    out = tmp_path / "results.jsonl"
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)], capsys)
    assert done.exit_code == 1
    by_id = {line["id"]: line for line in results(out)}
    assert by_id["good"]["status"] == "ok"
    assert by_id["off-script"]["status"] == "error"
    assert "differs from the recording" in str(by_id["off-script"]["error"])


def test_errors_are_redone_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["x"], task="Something else")
    out = tmp_path / "results.jsonl"
    args = ["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)]
    assert run_cli(args, capsys).exit_code == 1
    assert run_cli(args, capsys).exit_code == 0  # nothing left to run
    assert len(results(out)) == 1
    assert run_cli([*args, "--redo-errors"], capsys).exit_code == 1
    assert len(results(out)) == 2


def test_a_torn_last_line_is_ignored_and_cut_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    out = tmp_path / "results.jsonl"
    out.write_text('{"id": "a", "status": "o')  # killed in the middle of a write
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)], capsys)
    assert done.exit_code == 0, done.stderr
    assert [line["id"] for line in results(out)] == ["a"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"task": "t"}'], "needs an `id`"),
        (['{"id": "a", "task": "t"}', '{"id": "a", "task": "u"}'], "used twice"),
        (['{"id": "a"}'], "`task` string"),
        (["not json"], "not JSON"),
    ],
)
def test_bad_task_files_are_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str], message: str
):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("\n".join(lines) + "\n")
    out = tmp_path / "results.jsonl"
    done = run_cli(["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(out)], capsys)
    assert done.exit_code == 2
    assert "error:" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr


def test_workers_without_ray_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    tasks = write_tasks(tmp_path / "tasks.jsonl", ["a"])
    args = ["batch", str(tasks), "-c", str(EXAMPLE), "--out", str(tmp_path / "r.jsonl")]
    done = run_cli([*args, "--workers", "2"], capsys)
    assert done.exit_code == 2
    assert "fix:" in done.stderr and "--engine ray" in done.stderr
