"""Traces survive crashes: a last line torn at any byte (also inside a multi-byte character) is
skipped, one corrupt file never hides the other runs, and two runs never share a file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scenario import registry

from dispatcher import Agent, Dispatcher
from dispatcher.errors import ConfigError, DataError
from dispatcher.testing import reply
from dispatcher.trace.events import RunStarted
from dispatcher.trace.reader import list_runs, read_trace
from dispatcher.trace.sink import JsonlTraceSink
from dispatcher.trace.tracer import Tracer

TASK = "Täsk with ☃ snowmen and 日本語 text"


def _two_events(path: Path) -> bytes:
    tracer = Tracer("r1", [JsonlTraceSink(path)], trace_path=path)
    tracer.emit(RunStarted, task="first")
    tracer.emit(RunStarted, task=TASK)
    tracer.close()
    return path.read_bytes()


def test_a_last_line_torn_at_any_byte_is_skipped(tmp_path: Path) -> None:
    whole = _two_events(tmp_path / "whole.jsonl")
    first_end = whole.index(b"\n") + 1
    last = whole[first_end:]
    assert len(last.decode()) < len(last)  # the line holds multi-byte characters
    torn = tmp_path / "torn.jsonl"
    for cut in range(1, len(last) - 1):  # every byte, the newline excluded
        torn.write_bytes(whole[: first_end + cut])
        events = read_trace(torn)
        assert [e.task for e in events if isinstance(e, RunStarted)] == ["first"], cut


def test_a_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    whole = _two_events(tmp_path / "whole.jsonl")
    path = tmp_path / "no-newline.jsonl"
    path.write_bytes(whole.rstrip(b"\n"))
    assert len(read_trace(path)) == 2


def test_invalid_utf8_inside_the_file_is_a_data_error_naming_the_line(tmp_path: Path) -> None:
    whole = _two_events(tmp_path / "whole.jsonl")
    first, second = whole.split(b"\n", 1)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(first[:-10] + b"\xff\xfe" + first[-10:] + b"\n" + second)
    with pytest.raises(DataError, match=r"bad.jsonl:1"):
        read_trace(path)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "dispatcher"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_one_corrupt_file_never_hides_the_other_runs(tmp_path: Path) -> None:
    _two_events(tmp_path / "20260101T000000-good.jsonl")
    (tmp_path / "20260102T000000-garbage.jsonl").write_bytes(b"\x00\xff not json at all\n{}\n")
    (tmp_path / "20260103T000000-badevent.jsonl").write_text('{"kind": "nope"}\n')
    (tmp_path / "20260104T000000-dir.jsonl").mkdir()
    (tmp_path / "20260105T000000-dangling.jsonl").symlink_to(tmp_path / "gone")
    done = _cli("trace", "ls", "--runs-dir", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["run_id"]: row for row in json.loads(done.stdout)}
    assert rows["20260101T000000-good"]["status"] == "incomplete"
    assert rows["20260101T000000-good"]["task"] == "first"
    for bad in ("20260102T000000-garbage", "20260103T000000-badevent"):
        assert rows[bad]["status"] == "unreadable"
    table = _cli("trace", "ls", "--runs-dir", str(tmp_path))
    assert table.returncode == 0 and "Traceback" not in table.stdout + table.stderr
    shown = _cli("trace", "show", "20260101T000000-good", "--runs-dir", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    stats = _cli("trace", "stats", "--runs-dir", str(tmp_path), "--json")
    assert stats.returncode == 0, stats.stderr
    broken = _cli("trace", "show", "20260102T000000-garbage", "--runs-dir", str(tmp_path))
    assert broken.returncode == 2 and "error:" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_list_runs_skips_entries_that_are_not_files(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("")
    (tmp_path / "b.jsonl").mkdir()
    (tmp_path / "c.jsonl").symlink_to(tmp_path / "gone")
    assert [p.name for p in list_runs(tmp_path)] == ["a.jsonl"]


def _dispatcher(tmp_path: Path) -> Dispatcher:
    clerk = Agent(name="clerk", description="Answers.", tier="weak")
    reg, _, _ = registry([clerk], small=[reply("done", agent="dispatcher")] * 4)
    return Dispatcher(reg, runs_dir=tmp_path)


@pytest.mark.anyio
async def test_an_explicit_run_id_that_has_a_trace_is_refused(tmp_path: Path) -> None:
    dispatcher = _dispatcher(tmp_path)
    (tmp_path / "mine.jsonl").write_text('{"kept": true}\n')
    with pytest.raises(ConfigError, match="mine") as raised:
        await dispatcher.run("hello", run_id="mine")
    assert raised.value.fix
    assert (tmp_path / "mine.jsonl").read_text() == '{"kept": true}\n'


@pytest.mark.anyio
async def test_generated_run_ids_never_reuse_a_file(tmp_path: Path) -> None:
    first = await _dispatcher(tmp_path).run("hello")
    second = await _dispatcher(tmp_path).run("hello")
    assert first.trace_path != second.trace_path
    assert len(list(tmp_path.glob("*.jsonl"))) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["a_file", "a_file/below", "nul\x00byte"])
async def test_a_runs_folder_that_cannot_hold_a_trace_is_a_config_error(
    tmp_path: Path, where: str
) -> None:
    # Before: NotADirectoryError / ValueError('embedded null byte') out of Dispatcher.run.
    (tmp_path / "a_file").write_text("not a folder")
    dispatcher = _dispatcher(tmp_path / where)
    with pytest.raises(ConfigError, match="runs folder") as raised:
        await dispatcher.run("hello")
    assert raised.value.field == "runs_dir" and raised.value.fix
