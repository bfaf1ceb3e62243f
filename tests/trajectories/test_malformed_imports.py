"""Malformed trajectory records are DataErrors naming the file and line, never an
AttributeError from inside an importer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatcher.errors import DataError
from dispatcher.trajectories import load_trajectories

_ASSISTANT = {"role": "assistant", "content": "calling"}


@pytest.mark.parametrize(
    "tool_calls",
    ["get_order", {"function": {"name": "get_order"}}, [5], [{"function": 5}], [None]],
    ids=["a-string", "an-object", "an-int-item", "function-an-int", "a-null-item"],
)
def test_openai_tool_calls_of_the_wrong_shape(tmp_path: Path, tool_calls: Any) -> None:
    record = {"messages": [{**_ASSISTANT, "tool_calls": tool_calls}], "reward": 1}
    data = tmp_path / "runs.jsonl"
    data.write_text(json.dumps({"id": "ok", "messages": [_ASSISTANT], "reward": 0}) + "\n")
    with data.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    with pytest.raises(DataError, match=r"runs\.jsonl:2: .*tool_calls"):
        load_trajectories(data, "openai")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_outcome_is_not_a_label(tmp_path: Path, value: str) -> None:
    # json.loads reads NaN and Infinity; neither says whether a run succeeded.
    data = tmp_path / "runs.jsonl"
    record = '{"messages": [{"role": "assistant", "content": "x"}], "reward": ' + value + "}"
    data.write_text(record + "\n")
    with pytest.raises(DataError, match="not a usable outcome"):
        load_trajectories(data, "openai")


def test_paths_may_be_strings(tmp_path: Path) -> None:
    from dispatcher.trajectories import detect_format, read_labels

    data = tmp_path / "runs.jsonl"
    data.write_text(
        '{"id": "a", "group": "g", "success": true, "steps": [{"action": "ls"}]}\n'
        '{"id": "b", "group": "g", "success": false, "steps": [{"action": "ls"}]}\n'
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"id": "a", "resolved": true}\n{"id": "b", "resolved": false}\n')
    assert detect_format(str(data)) == "jsonl"  # type: ignore[arg-type]
    assert read_labels(str(labels)) == {"a": True, "b": False}  # type: ignore[arg-type]
    runs = load_trajectories(str(data), labels=read_labels(labels))  # type: ignore[arg-type]
    assert [r.success for r in runs] == [True, False]


@pytest.mark.parametrize("path", [5, None])
def test_a_path_of_the_wrong_type(path: Any) -> None:
    from dispatcher.errors import ConfigError

    with pytest.raises(ConfigError, match="path"):
        load_trajectories(path)
