"""`dispatcher detectors eval` and `calibrate` end to end on small labelled datasets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from detector_runs import progressing_run, step, trajectory
from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app, main
from dispatcher.trajectories import write_trajectories

FIXTURES = Path(__file__).parent / "fixtures"
_register_subcommands()
runner = CliRunner()


def _dataset(path: Path, groups: int = 10) -> Path:
    runs = []
    for g in range(groups):
        for trial in range(4):
            run_id = f"t{g}-{trial}"
            if trial < 2:
                runs.append(trajectory(run_id, f"t{g}", True, progressing_run(8 + g + trial)))
            else:
                steps = progressing_run(3 + g % 3)
                steps += [
                    step(len(steps) + i, "run", {"cmd": "make"}, "error: boom", error=True)
                    for i in range(4 + trial + g % 4)
                ]
                runs.append(trajectory(run_id, f"t{g}", False, steps))
    write_trajectories(path, runs)
    return path


def test_eval_json_has_exactly_the_documented_keys(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "runs.jsonl")
    result = runner.invoke(
        app, ["detectors", "eval", "--data", str(data), "--json", "--steps", "5,10"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    keys = {"auc@5", "auc@10", "recall@fpr5", "false_alarm_rate", "median_first_step"}
    assert set(report["combined"]) == keys
    assert all(set(m) == keys for m in report["detectors"].values())
    assert "loop.failing" in report["detectors"] and "stall" in report["detectors"]
    failing = report["detectors"]["loop.failing"]
    assert failing["auc@10"] > 0.9 and failing["false_alarm_rate"] == 0.0
    assert "escalation" not in report


def test_eval_reports_escalations_when_strong_success_is_known(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in _dataset(tmp_path / "r.jsonl").read_text().splitlines()]
    for i, row in enumerate(rows):
        row["strong_success"] = i % 3 != 0
    data = tmp_path / "strong.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(app, ["detectors", "eval", "--data", str(data), "--json"])
    report = json.loads(result.output)
    view = report["escalation_by_detector"]["loop.failing"]
    assert view["runs"] == 40
    assert view["rescued"] + view["futile"] + view["unneeded"] == view["escalations"]
    policy = report["escalation"]
    assert set(policy) == {"runs", "rescuable", "rescued", "wasted", "successes_escalated"}
    failed_rescuable = sum(1 for i, r in enumerate(rows) if not r["success"] and i % 3 != 0)
    assert policy["rescuable"] == failed_rescuable
    assert policy["rescued"] <= policy["rescuable"]


def test_eval_reads_every_supported_format() -> None:
    for name in ("mini_swe.jsonl", "swe_agent.traj"):
        path = FIXTURES / name
        result = runner.invoke(app, ["detectors", "eval", "--data", str(path)])
        if name == "swe_agent.traj":  # one failed run only
            assert "all 1 runs are failed" in str(result.exception)
        else:
            assert result.exit_code == 0, result.output
            assert "combined" in result.output


def test_calibrate_writes_the_config_and_keeps_other_keys(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "runs.jsonl")
    config = tmp_path / "dispatcher.yaml"
    config.write_text(
        yaml.safe_dump(
            {"model_list": [{"model_name": "small"}], "dispatcher": {"overwatch": "strong"}}
        )
    )
    result = runner.invoke(
        app,
        [
            "detectors",
            "calibrate",
            "--data",
            str(data),
            "--config",
            str(config),
            "--repeats",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    written = yaml.safe_load(config.read_text())
    assert written["model_list"] == [{"model_name": "small"}]
    assert written["dispatcher"]["overwatch"] == "strong"
    detectors = written["dispatcher"]["detectors"]
    assert set(detectors) == {"profile", "enabled", "finish_review", "loop", "stall", "combined"}
    cv = json.loads(result.output)["cv"]
    assert cv["auc@20"]["mean"] > 0.8
    again = runner.invoke(
        app, ["detectors", "eval", "--data", str(data), "--config", str(config), "--json"]
    )
    assert json.loads(again.output)["combined"]["auc@20"] > 0.8


def _main(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr(sys, "argv", ["dispatcher", *argv])
    with pytest.raises(SystemExit) as caught:
        main()
    return int(caught.value.code or 0)


def test_user_mistakes_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "success": true, "steps": []}\nnot json\n')
    assert _main(monkeypatch, "detectors", "eval", "--data", str(bad)) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err and "Traceback" not in err
    data = _dataset(tmp_path / "runs.jsonl")
    assert _main(monkeypatch, "detectors", "eval", "--data", str(data), "--steps", "x") == 2
    assert "--steps" in capsys.readouterr().err
    config = tmp_path / "c.yaml"
    config.write_text("dispatcher:\n  detectors:\n    loop: {repeat: 3}\n")
    assert (
        _main(monkeypatch, "detectors", "eval", "--data", str(data), "--config", str(config)) == 2
    )
    assert "did you mean 'repeats'" in capsys.readouterr().err


def test_calibrate_keeps_the_config_files_comments_and_order(tmp_path: Path) -> None:
    data = _dataset(tmp_path / "runs.jsonl")
    config = tmp_path / "dispatcher.yaml"
    config.write_text(
        "# registry of the team\n"
        "dispatcher:\n"
        "  overwatch: strong   # the big one\n"
        "  budgets: {usd: 0.5}\n"
        "model_list:\n"
        "  - model_name: small\n"
    )
    result = runner.invoke(
        app,
        ["detectors", "calibrate", "--data", str(data), "--config", str(config), "--repeats", "1"],
    )
    assert result.exit_code == 0, result.output
    text = config.read_text()
    assert "# registry of the team" in text and "# the big one" in text
    assert text.index("dispatcher:") < text.index("model_list:")
    assert text.index("overwatch") < text.index("budgets") < text.index("detectors")
