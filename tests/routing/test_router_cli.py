"""The `dispatcher eval routers`, `eval import-routellm` and `calibrate` commands."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import yaml
from routing_data import synthetic_records, write_jsonl

from dispatcher.cli.app import main


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["dispatcher", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def eval_routers(data: list[str], strong: str, weak: str, *options: str) -> list[str]:
    """`dispatcher eval routers` with its data options, the model pair and `options`."""
    return ["eval", "routers", *data, "--strong", strong, "--weak", weak, *options]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    rows = [r.to_json() for r in synthetic_records(400)]
    return write_jsonl(tmp_path / "prefs.jsonl", rows)


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCHER_CACHE_DIR", str(tmp_path / "cache"))


def test_eval_routers_json_has_every_router(
    data_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(
        eval_routers(
            ["--data", str(data_file)],
            "strong",
            "weak",
            "--router",
            "predictive",
            "--router",
            "bandit",
            "--folds",
            "3",
            "--embedder",
            "hashing:64",
            "--json",
        ),
        monkeypatch,
    )
    assert code == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    # Not a terminal: progress is plain lines on stderr, one per stage (stdout stays JSON).
    assert "fold" in captured.err.lower() and "\x1b[" not in captured.err
    assert list(result) == ["predictive", "bandit", "random", "length", "oracle"]
    for metrics in result.values():
        assert set(metrics) == {"apgr", "cpt50", "cpt80"}
        assert metrics["cpt50"] is None or 0.0 <= metrics["cpt50"] <= 1.0
    assert result["oracle"]["apgr"] > result["predictive"]["apgr"] > result["random"]["apgr"]


def test_eval_routers_train_test_with_table_and_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    records = [r.to_json() for r in synthetic_records(300)]
    train = write_jsonl(tmp_path / "train.jsonl", records[:200])
    test = write_jsonl(tmp_path / "test.jsonl", records[200:])
    plot = tmp_path / "curves.png"
    code = run_cli(
        eval_routers(
            ["--train", str(train), "--test", str(test)],
            "strong",
            "weak",
            "--embedder",
            "hashing:64",
            "--plot",
            str(plot),
        ),
        monkeypatch,
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "APGR" in out and "predictive" in out and "oracle" in out
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_malformed_dataset_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "prompt": "p", "scores": {"x": 1, "y": 0}}\n{oops\n', encoding="utf-8"
    )
    code = run_cli(
        eval_routers(["--data", str(bad)], "x", "y", "--embedder", "hashing"),
        monkeypatch,
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}:2:" in err and "Traceback" not in err


def test_unknown_model_is_a_clear_error(
    data_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(
        eval_routers(["--data", str(data_file)], "gpt-9", "weak", "--embedder", "hashing"),
        monkeypatch,
    )
    assert code == 2
    assert "model 'gpt-9' has no scores" in capsys.readouterr().err


def test_import_routellm_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mmlu"
    folder.mkdir()
    with (folder / "mmlu_law.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["prompt", "w", "s"], ["q1", "True", "False"], ["q2", "False", "True"]]
        )
    out = tmp_path / "out.jsonl"
    assert run_cli(["eval", "import-routellm", str(folder), "--out", str(out)], monkeypatch) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["group"] for line in lines] == ["law", "law"]


def test_calibrate_writes_threshold_into_config(
    tmp_path: Path, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "dispatcher.yaml"
    config.write_text("dispatcher:\n  overwatch: strong\n", encoding="utf-8")
    code = run_cli(
        [
            "calibrate",
            "--data",
            str(data_file),
            "--strong",
            "strong",
            "--weak",
            "weak",
            "--config",
            str(config),
            "--strong-share",
            "0.3",
            "--folds",
            "3",
            "--embedder",
            "hashing:64",
        ],
        monkeypatch,
    )
    assert code == 0
    section = yaml.safe_load(config.read_text())["dispatcher"]
    assert section["overwatch"] == "strong"
    router = section["router"]
    assert router["type"] == "predictive" and router["embedder"] == "hashing:64"
    assert Path(router["model_path"]).is_file()
    assert router["calibration"]["strong_share"] == pytest.approx(0.3, abs=0.01)


def test_calibrate_needs_exactly_one_target(
    tmp_path: Path,
    data_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run_cli(
        [
            "calibrate",
            "--data",
            str(data_file),
            "--strong",
            "strong",
            "--weak",
            "weak",
            "--config",
            str(tmp_path / "c.yaml"),
        ],
        monkeypatch,
    )
    assert code == 2 and "give exactly one target" in capsys.readouterr().err
