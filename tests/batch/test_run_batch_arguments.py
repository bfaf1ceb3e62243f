"""run_batch called from Python: paths given as text work, and arguments of the wrong kind
are ConfigErrors, not AttributeErrors or a silently different engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatcher.batch import BatchTask, TaskRunner, run_batch
from dispatcher.errors import ConfigError


def _factory() -> TaskRunner:
    async def run(task: BatchTask) -> dict[str, Any]:
        return {"id": task.id, "status": "ok", "answer": task.task.upper(), "cost_usd": 0.0}

    return run


def _tasks(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text('{"id": "a", "task": "x"}\n')
    return path


def test_paths_given_as_text_work(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    summary = run_batch(str(_tasks(tmp_path)), str(out), _factory)  # type: ignore[arg-type]
    assert summary.ran == 1
    assert json.loads(out.read_text())["answer"] == "X"


@pytest.mark.parametrize(
    "kwargs",
    [{"engine": "ray2"}, {"engine": "Local"}, {"workers": "2"}, {"concurrency": 1.5}],
)
def test_arguments_of_the_wrong_kind_are_config_errors(
    tmp_path: Path, kwargs: dict[str, Any]
) -> None:
    # engine="ray2" ran on the local engine without a word; workers="2" was a TypeError.
    with pytest.raises(ConfigError):
        run_batch(_tasks(tmp_path), tmp_path / "out.jsonl", _factory, **kwargs)
    assert not (tmp_path / "out.jsonl").exists()


def _odd_factory() -> TaskRunner:
    async def run(task: BatchTask) -> Any:
        if task.id == "none":
            return None  # not a result line at all
        if task.id == "noid":
            return {"status": "ok"}
        if task.id == "otherid":
            return {"id": "zzz", "status": "ok"}
        return {"id": task.id, "status": "ok", "trace": Path("t.jsonl")}  # not JSON as is

    return run


def test_a_runner_answering_in_the_wrong_shape_does_not_stop_the_batch(tmp_path: Path) -> None:
    # None or a dict without `id` ended the whole batch with a TypeError/KeyError; a Path
    # in the line with a TypeError from json.dumps; another id made resuming re-run it forever.
    tasks = tmp_path / "tasks.jsonl"
    ids = ["none", "noid", "otherid", "path"]
    tasks.write_text("".join(json.dumps({"id": i, "task": "x"}) + "\n" for i in ids))
    out = tmp_path / "out.jsonl"
    summary = run_batch(tasks, out, _odd_factory)
    assert summary.ran == 4
    lines = {line["id"]: line for line in map(json.loads, out.read_text().splitlines())}
    assert set(lines) == set(ids)
    assert lines["none"]["status"] == "error" and "NoneType" in lines["none"]["error"]
    assert lines["path"]["trace"] == "t.jsonl"
    assert run_batch(tasks, out, _odd_factory).skipped == 4


def test_an_answer_holding_a_lone_surrogate_is_written(tmp_path: Path) -> None:
    # A model's JSON may escape half a surrogate pair ("\ud800"): encoding the result line
    # as UTF-8 raised UnicodeEncodeError and ended the whole batch.
    def factory() -> TaskRunner:
        async def run(task: BatchTask) -> dict[str, Any]:
            return {"id": task.id, "status": "ok", "answer": "half \ud800 pair"}

        return run

    out = tmp_path / "out.jsonl"
    assert run_batch(_tasks(tmp_path), out, factory).ran == 1
    assert json.loads(out.read_text())["answer"] == "half \ud800 pair"
    assert run_batch(_tasks(tmp_path), out, factory).skipped == 1
