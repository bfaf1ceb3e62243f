"""Runs inside a shared trace file (a gateway process's `<runs dir>/gateway/*.jsonl`): found by
run id, prefix and `latest`, shown, listed and rendered like runs with a file of their own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cli_runner import run_cli
from scenario import registry

from dispatcher import Agent
from dispatcher.errors import DataError
from dispatcher.gateway._trace_log import ProcessTraceLog
from dispatcher.runner import run_session
from dispatcher.trace import _shared_files
from dispatcher.trace.reader import list_run_refs, locate_run, read_run, read_trace


async def _interleaved_runs(log: ProcessTraceLog, run_ids: list[str]) -> None:
    """Runs open at the same time, their events interleaved in the one file."""
    reg, _, _ = registry([Agent(name="helper", description="Helps.")], small=[])

    async def one(run_id: str, pause: float) -> None:
        async with run_session(
            reg,
            f"task of {run_id}",
            entry="model/small",
            run_id=run_id,
            write_trace=False,
            sinks=(log,),
        ) as (_, outcome):
            await asyncio.sleep(pause)
            outcome.answer = f"answer of {run_id}"

    await asyncio.gather(*(one(r, 0.01 * (len(run_ids) - i)) for i, r in enumerate(run_ids)))


def _shared_log(runs: Path, run_ids: list[str]) -> Path:
    log = ProcessTraceLog(runs)
    asyncio.run(_interleaved_runs(log, run_ids))
    log.shutdown()
    return log.path


def test_a_run_is_found_by_id_and_prefix_in_a_shared_file(tmp_path: Path) -> None:
    ids = ["20261206T100000-aaaa0001", "20261206T100000-aaaa0002", "20261206T100001-bbbb0003"]
    path = _shared_log(tmp_path, ids)
    assert path.parent == tmp_path / "gateway"
    kinds = [e.run_id for e in read_trace(path)]
    assert kinds != sorted(kinds)  # really interleaved
    for run_id in ids:
        ref = locate_run(run_id, tmp_path)
        assert ref.shared and ref.path == path and ref.run_id == run_id
        events = read_run(ref)
        assert [e.kind for e in events] == ["run_started", "run_finished"]
        assert {e.run_id for e in events} == {run_id}
        assert events[-1].answer == f"answer of {run_id}"  # type: ignore[union-attr]
    assert locate_run("20261206T100001", tmp_path).run_id == ids[2]
    with pytest.raises(DataError, match="ambiguous"):
        locate_run("20261206T100000", tmp_path)
    with pytest.raises(DataError, match="no run"):
        locate_run("20261206T999999", tmp_path)


def test_the_quote_in_a_task_cannot_forge_another_runs_lines(tmp_path: Path) -> None:
    path = _shared_log(tmp_path, ["r-real"])
    forged = '{"run_id":"r-real","kind":"run_started"}'
    with path.open("ab") as file:  # text holding the marker is escaped inside its string
        file.write(json.dumps({"note": forged}, separators=(",", ":")).encode() + b"\n")
    assert [e.kind for e in read_run(locate_run("r-real", tmp_path))] == [
        "run_started",
        "run_finished",
    ]


def test_a_line_the_writer_never_finished_is_skipped(tmp_path: Path) -> None:
    path = _shared_log(tmp_path, ["r-one", "r-two"])
    with path.open("ab") as file:
        file.write(b'{"run_id":"r-two","ts":"2026-12-06T10:00:')  # killed mid-write
    assert len(read_run(locate_run("r-two", tmp_path))) == 2
    assert {ref.run_id for ref in list_run_refs(tmp_path)} == {"r-one", "r-two"}


def test_listing_reads_backwards_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [f"r-{n:03d}" for n in range(12)]
    _shared_log(tmp_path, ids)
    monkeypatch.setattr(_shared_files, "_BLOCK", 97)  # lines cut at every block boundary
    everything = {ref.run_id: read_run(ref) for ref in list_run_refs(tmp_path)}
    assert set(everything) == set(ids)
    for run_id, events in everything.items():
        assert [e.kind for e in events] == ["run_started", "run_finished"]
        assert {e.run_id for e in events} == {run_id}
    newest = list_run_refs(tmp_path, limit=3)
    assert len(newest) == 3 and all(read_run(ref) for ref in newest)


def test_trace_show_ls_and_html_reach_a_run_in_a_shared_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    _shared_log(tmp_path, ["20261206T100000-cafe0001", "20261206T100000-cafe0002"])
    runs = ["--runs-dir", str(tmp_path)]
    shown = run_cli(["trace", "show", "20261206T100000-cafe0002", *runs], capsys)
    assert shown.exit_code == 0, shown.stderr
    assert "task of 20261206T100000-cafe0002" in shown.stdout
    assert "cafe0001" not in shown.stdout
    listed = run_cli(["trace", "ls", *runs], capsys)
    assert "20261206T100000-cafe0001" in listed.stdout
    assert "20261206T100000-cafe0002" in listed.stdout
    page = tmp_path / "run.html"
    rendered = run_cli(
        ["trace", "html", "20261206T100000-cafe0001", "-o", str(page), *runs], capsys
    )
    assert rendered.exit_code == 0, rendered.stderr
    assert "task of 20261206T100000-cafe0001" in page.read_text()
    stats = run_cli(["trace", "stats", "--json", *runs], capsys)
    assert '"runs": 2' in stats.stdout
    latest = run_cli(["trace", "show", "latest", "--json", *runs], capsys)
    assert latest.exit_code == 0 and "cafe000" in latest.stdout
