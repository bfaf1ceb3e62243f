"""`detectors eval --runs-out` never overwrites the runs or the labels it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli


def _data(tmp_path: Path) -> Path:
    rows = []
    for i in range(10):
        steps = [{"action": f"cmd{j % 2}", "observation": "out"} for j in range(6)]
        rows.append({"id": f"r{i}", "group": f"g{i % 5}", "success": i % 2 == 0, "steps": steps})
    data = tmp_path / "runs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def test_runs_out_onto_the_data_file_is_refused_and_the_data_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _data(tmp_path)
    before = data.read_bytes()
    result = run_cli(["detectors", "eval", "--data", str(data), "--runs-out", str(data)], capsys)
    assert result.exit_code == 2
    assert "--runs-out" in result.stderr and "--data" in result.stderr
    assert data.read_bytes() == before


def test_runs_out_onto_the_labels_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _data(tmp_path)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(json.dumps({"id": f"r{i}", "success": i % 2 == 0}) + "\n" for i in range(10))
    )
    before = labels.read_bytes()
    args = ["detectors", "eval", "--data", str(data), "--labels", str(labels)]
    result = run_cli([*args, "--runs-out", str(labels)], capsys)
    assert result.exit_code == 2
    assert "--labels" in result.stderr
    assert labels.read_bytes() == before


def test_runs_out_elsewhere_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "alarms.jsonl"
    result = run_cli(
        ["detectors", "eval", "--data", str(_data(tmp_path)), "--runs-out", str(out)], capsys
    )
    assert result.exit_code == 0, result.stderr
    assert len(out.read_text().splitlines()) == 10
