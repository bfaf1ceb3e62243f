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


def _our_runs(tmp_path: Path, first: dict[str, Any]) -> Path:
    data = tmp_path / "runs.jsonl"
    other = {"id": "r2", "success": False, "steps": [{"action": "ls"}]}
    data.write_text(json.dumps(first) + "\n" + json.dumps(other) + "\n")
    return data


@pytest.mark.parametrize("tokens", ["abc", [1], 1e400, -3, True])
def test_a_step_token_count_of_the_wrong_type_is_a_data_error(tmp_path: Path, tokens: Any) -> None:
    # json.dumps writes 1e400 as Infinity, which json.loads reads back.
    step = {"action": "ls", "tokens": tokens}
    data = _our_runs(tmp_path, {"id": "r1", "success": True, "steps": [step]})
    with pytest.raises(DataError, match=r"runs\.jsonl:1: 'steps\[0\]\.tokens' must be"):
        load_trajectories(data, "jsonl")


def test_a_whole_float_token_count_is_a_count(tmp_path: Path) -> None:
    step = {"action": "ls", "tokens": 12.0}
    data = _our_runs(tmp_path, {"id": "r1", "success": True, "steps": [step]})
    runs = load_trajectories(data, "jsonl")
    assert runs[0].steps[0].tokens == 12


@pytest.mark.parametrize("run_id", [None, "", "   "])
def test_a_run_without_an_id_is_a_data_error(tmp_path: Path, run_id: Any) -> None:
    data = _our_runs(tmp_path, {"id": run_id, "success": True, "steps": []})
    with pytest.raises(DataError, match=r"runs\.jsonl:1: 'id' must be"):
        load_trajectories(data, "jsonl")


@pytest.mark.parametrize("item", [5, None, "text", [1]], ids=["int", "null", "string", "list"])
@pytest.mark.parametrize("key", ["messages", "traj"])
def test_an_openai_chat_message_that_is_no_object_is_a_data_error(
    tmp_path: Path, item: Any, key: str
) -> None:
    data = tmp_path / "runs.jsonl"
    good = {"id": "ok", key: [_ASSISTANT], "reward": 0}
    bad = {"id": "bad", key: [_ASSISTANT, item], "reward": 1}
    data.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"runs\.jsonl:2: message 1 must be a JSON object"):
        load_trajectories(data, "openai")


@pytest.mark.parametrize("item", [5, None, "text"], ids=["int", "null", "string"])
def test_a_mini_swe_agent_message_that_is_no_object_is_a_data_error(
    tmp_path: Path, item: Any
) -> None:
    turn = {"role": "assistant", "content": "THOUGHT: look\n\n```bash\nls\n```"}
    record = {"instance_id": "a__b-1", "resolved": True, "messages": [turn, item]}
    data = tmp_path / "run.traj.json"
    data.write_text(json.dumps(record))
    with pytest.raises(DataError, match=r"run\.traj\.json(:1)?: message 1 must be a JSON object"):
        load_trajectories(data, "swe")


def _folder_of_our_runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    run = {"id": "r1", "success": True, "steps": [{"action": "ls"}]}
    (folder / "a.jsonl").write_text(json.dumps(run) + "\n")
    return folder


def test_a_folder_of_jsonl_runs_that_are_no_traces_names_the_file_and_the_fix(
    tmp_path: Path,
) -> None:
    # A folder is read as dispatcher traces or SWE-agent logs; not "not a valid trace event".
    with pytest.raises(DataError, match=r"a\.jsonl: .*not dispatcher trace events.*--data") as e:
        load_trajectories(_folder_of_our_runs(tmp_path))
    assert "discriminator" not in str(e.value)


@pytest.mark.parametrize("format", ["jsonl", "openai"])
def test_a_folder_with_a_file_format_says_to_pass_the_file(tmp_path: Path, format: Any) -> None:
    with pytest.raises(DataError, match=r"runs: a folder is read as .* pass .* file"):
        load_trajectories(_folder_of_our_runs(tmp_path), format)
