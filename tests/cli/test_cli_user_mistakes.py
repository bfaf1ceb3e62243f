"""User mistakes on the command line: every one exits 2 with `error:` and `fix:`, no traceback.

Files that are not UTF-8, folders where files are expected, files where folders are expected.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_runner import CliResult, run_cli

_REPO = Path(__file__).resolve().parents[2]
_NOT_UTF8 = b"\xff\xfe\x00 not text"


def _assert_user_mistake(result: CliResult) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("error:") for line in lines), result.stderr
    assert any(line.strip().startswith("fix:") for line in lines), result.stderr


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(_NOT_UTF8)
    return path


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "sql_report"
    shutil.copytree(_REPO / "examples" / "sql_report", copy)
    return copy


def _labelled_runs(tmp_path: Path) -> Path:
    path = tmp_path / "runs.jsonl"
    path.write_text(
        '{"id": "a", "group": "g", "success": true, "steps": [{"action": "ls", '
        '"observation": "x", "error": false}]}\n'
        '{"id": "b", "group": "g", "success": false, "steps": [{"action": "ls", '
        '"observation": "x", "error": true}]}\n'
    )
    return path


def test_files_that_are_not_utf8(
    tmp_path: Path, binary: Path, example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken_example = tmp_path / "broken"
    broken_example.mkdir()
    (broken_example / "example.yaml").write_bytes(_NOT_UTF8)
    runs = _labelled_runs(tmp_path)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "t1", "task": "x"}\n')
    for args in (
        ["run", str(broken_example)],
        ["ask", "hello", "--config", str(binary)],
        ["agents", "ls", "--config", str(binary)],
        ["detectors", "eval", "--data", str(binary)],
        ["detectors", "eval", "--data", str(runs), "--labels", str(binary)],
        ["batch", str(binary), "--config", str(example), "--out", str(tmp_path / "o.jsonl")],
    ):
        _assert_user_mistake(run_cli(args, capsys))


def test_a_config_to_update_that_is_not_utf8_is_left_alone(
    tmp_path: Path, binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "prefs.jsonl"
    data.write_text(
        '{"id": "1", "prompt": "a", "scores": {"s": 1, "w": 0}}\n'
        '{"id": "2", "prompt": "bb", "scores": {"s": 1, "w": 1}}\n'
    )
    args = ["calibrate", "--data", str(data), "--strong", "s", "--weak", "w"]
    result = run_cli(
        [*args, "--config", str(binary), "--strong-share", "0.5", "--router", "length"], capsys
    )
    _assert_user_mistake(result)
    assert binary.read_bytes() == _NOT_UTF8


def test_folders_and_files_in_the_wrong_place(
    tmp_path: Path, example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("x\n")
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "t1", "task": "x"}\n')
    data = tmp_path / "prefs.jsonl"
    data.write_text('{"id": "1", "prompt": "a", "scores": {"s": 1, "w": 0}}\n')
    for args in (
        ["run", str(example), "--record", str(folder)],
        ["run", str(example), "--runs-dir", str(a_file)],
        ["batch", str(tasks), "--config", str(example), "--out", str(folder)],
        ["batch", str(folder), "--config", str(example), "--out", str(tmp_path / "o.jsonl")],
        [
            "calibrate", "--data", str(data), "--strong", "s", "--weak", "w",
            "--config", str(folder), "--strong-share", "0.5", "--router", "length",
        ],
    ):  # fmt: skip
        _assert_user_mistake(run_cli(args, capsys))


def test_data_file_mistakes_say_how_to_fix_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text("{not json\n")
    array = tmp_path / "array.jsonl"
    array.write_text("[1, 2]\n")
    runs = _labelled_runs(tmp_path)
    some_labels = tmp_path / "labels.jsonl"
    some_labels.write_text('{"id": "a", "resolved": true}\n')
    for args in (
        ["detectors", "eval", "--data", str(tmp_path / "missing.jsonl")],
        ["detectors", "eval", "--data", str(empty)],
        ["detectors", "eval", "--data", str(garbled)],
        ["detectors", "eval", "--data", str(runs), "--format", "swe"],
        ["detectors", "eval", "--data", str(runs), "--labels", str(some_labels)],
        ["calibrate", "--data", str(empty), "--strong", "s", "--weak", "w",
         "--config", str(tmp_path / "c.yaml"), "--strong-share", "0.5"],
        ["trace", "html", str(array), "-o", str(tmp_path / "o.html")],
        ["trace", "export", str(array), "-o", str(tmp_path / "o.json")],
    ):  # fmt: skip
        _assert_user_mistake(run_cli(args, capsys))


def test_a_negative_trace_limit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_user_mistake(
        run_cli(["trace", "ls", "--runs-dir", str(tmp_path), "--limit", "-1"], capsys)
    )


def test_an_empty_task_override_is_refused(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--task ""` is the user's task, not "no override": running the example's task instead
    # would answer a question nobody asked.
    _assert_user_mistake(run_cli(["run", str(example), "--task", ""], capsys))


def test_a_detector_config_that_is_not_utf8(
    tmp_path: Path, binary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _labelled_runs(tmp_path)
    result = run_cli(["detectors", "eval", "--data", str(runs), "--config", str(binary)], capsys)
    _assert_user_mistake(result)


def test_end_of_input_at_a_prompt_aborts_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dispatcher.cli import _trace

    def ends(*_args: object, **_kwargs: object) -> None:
        raise EOFError  # what input() raises on Ctrl-D

    monkeypatch.setattr(_trace, "list_run_refs", ends)
    result = run_cli(["trace", "ls"], capsys)
    assert result.exit_code == 1
    assert "Aborted!" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00 not a trace"], ids=["empty", "binary"])
def test_a_file_with_no_trace_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    trace = tmp_path / "run.jsonl"
    trace.write_bytes(content)
    for args in (
        ["trace", "show", str(trace)],
        ["trace", "html", str(trace), "-o", str(tmp_path / "o.html")],
        ["trace", "export", str(trace), "-o", str(tmp_path / "o.json")],
    ):
        _assert_user_mistake(run_cli(args, capsys))


@pytest.mark.parametrize("command", [["trace", "ls"], ["trace", "stats"]])
def test_a_runs_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    a_file = tmp_path / "runs.txt"
    a_file.write_text("x\n")
    _assert_user_mistake(run_cli([*command, "--runs-dir", str(a_file)], capsys))


@pytest.mark.parametrize("where", ["a-folder", "missing/cassette.yaml"])
def test_a_record_path_that_cannot_be_written_is_refused_before_the_run(
    tmp_path: Path, example: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    (tmp_path / "a-folder").mkdir()
    runs = tmp_path / "runs"
    result = run_cli(
        ["run", str(example), "--record", str(tmp_path / where), "--runs-dir", str(runs)], capsys
    )
    _assert_user_mistake(result)
    assert not runs.exists() or not list(runs.glob("*.jsonl"))  # no run was started


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_not_read_as_a_data_file(
    tmp_path: Path, example: Path, capsys: pytest.CaptureFixture[str], device: str
) -> None:
    # /dev/zero never ends: reading it as data would fill the memory.
    for args in (
        ["detectors", "eval", "--data", device],
        ["batch", device, "--config", str(example), "--out", str(tmp_path / "o.jsonl")],
        ["calibrate", "--data", device, "--strong", "s", "--weak", "w",
         "--config", str(tmp_path / "c.yaml"), "--strong-share", "0.5", "--router", "length"],
        ["eval", "routers", "--data", device, "--strong", "s", "--weak", "w"],
    ):  # fmt: skip
        _assert_user_mistake(run_cli(args, capsys))


@pytest.mark.parametrize("target", ["--config", "--model-out"])
def test_an_output_path_that_is_a_pipe_or_device_is_refused_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    # Files are written atomically (a temporary file renamed over the target): a device or a
    # pipe named there was replaced by a regular file. As root, `--model-out /dev/null`
    # turned the machine's /dev/null into a file. A FIFO stands in for the device here.
    import os
    import stat

    data = tmp_path / "prefs.jsonl"
    data.write_text(
        "".join(
            f'{{"id": "q{i}", "prompt": "question {i} {"hard " * (i % 3)}", '
            f'"scores": {{"s": {i % 2}, "w": 0}}}}\n'
            for i in range(12)
        )
    )
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    outputs = {"--config": str(tmp_path / "c.yaml"), "--model-out": str(tmp_path / "m.npz")}
    outputs[target] = str(pipe)
    args = ["calibrate", "--data", str(data), "--strong", "s", "--weak", "w",
            "--strong-share", "0.5", "--router", "predictive", "--embedder", "hashing",
            "--no-cache", "--folds", "2", "--config", outputs["--config"],
            "--model-out", outputs["--model-out"]]  # fmt: skip
    _assert_user_mistake(run_cli(args, capsys))
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_data_line_with_a_number_too_long_to_read_is_a_user_mistake(
    tmp_path: Path, example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # json.loads raises a bare ValueError past 4300 digits (not JSONDecodeError): every
    # JSONL reader let it out as a traceback.
    huge = "1" + "0" * 5000
    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text(f'{{"id": "q1", "prompt": "p", "scores": {{"s": {huge}, "w": 0}}}}\n')
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(f'{{"id": {huge}, "task": "x"}}\n')
    for args in (
        ["eval", "routers", "--data", str(prefs), "--strong", "s", "--weak", "w"],
        ["detectors", "eval", "--data", str(prefs)],
        ["batch", str(tasks), "--config", str(example), "--out", str(tmp_path / "o.jsonl")],
    ):
        _assert_user_mistake(run_cli(args, capsys))


def test_ask_with_a_key_not_set_points_at_no_flag_ask_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `ask` is always live: the fix said "... or run offline ... without --live", a flag that
    # `ask` does not have.
    monkeypatch.delenv("DISPATCHER_NEWCOMER_UNSET_KEY", raising=False)
    config = tmp_path / "dispatcher.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: small\n"
        "    litellm_params: {model: openai/gpt-4o-mini,"
        " api_key: os.environ/DISPATCHER_NEWCOMER_UNSET_KEY}\n"
        "dispatcher:\n  tiers: {weak: small, strong: small}\n"
    )
    (tmp_path / "clerk.md").write_text("---\nname: clerk\ndescription: d\n---\nhi\n")
    with config.open("a") as file:
        file.write("  agents: [clerk.md]\n")
    result = run_cli(["ask", "hello", "-c", str(config), "--no-model-text"], capsys)
    _assert_user_mistake(result)
    assert "export DISPATCHER_NEWCOMER_UNSET_KEY=" in result.stderr
    assert "--live" not in result.stderr


def test_a_registry_without_agents_says_where_agents_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fix said "register at least one agent", not how.
    config = tmp_path / "dispatcher.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: small\n"
        "    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}\n"
        "dispatcher:\n  tiers: {weak: small, strong: small}\n"
    )
    result = run_cli(["ask", "hello", "-c", str(config), "--no-model-text"], capsys)
    _assert_user_mistake(result)
    assert "agents:" in result.stderr


def test_a_file_of_an_example_or_a_folder_as_config_points_at_the_right_path(
    example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `run examples/sql_report/dispatcher.yaml` and `ask -c examples/sql_report` said only
    # "not an example folder" / "registry file not found", with no word of the path meant.
    result = run_cli(["run", str(example / "dispatcher.yaml")], capsys)
    _assert_user_mistake(result)
    assert f"pass its folder: {example}" in result.stderr.replace("\n", " ")
    result = run_cli(["ask", "hello", "-c", str(example)], capsys)
    _assert_user_mistake(result)
    assert "is a folder" in result.stderr
    assert str(example / "dispatcher.yaml") in result.stderr.split("fix:")[1]


@pytest.mark.parametrize("command", [["ask", "hello"], ["serve"]])
def test_no_registry_file_here_names_the_config_flag(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run where there is no dispatcher.yaml, the fix says how to point at one."""
    monkeypatch.chdir(tmp_path)
    result = run_cli(command, capsys)
    _assert_user_mistake(result)
    assert "-c" in result.stderr and "dispatcher.yaml" in result.stderr
