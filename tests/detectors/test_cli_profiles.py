"""`detectors eval` with --labels, --profile, --runs-out, and the live finish review."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from scenario import registry
from test_coding_profile import _mini_swe
from typer.testing import CliRunner

from dispatcher import Agent, Dispatcher, ToolOutput, tool
from dispatcher.cli.app import _register_subcommands, app, main
from dispatcher.testing import reply, tool_calls

_register_subcommands()
runner = CliRunner()


def _runs(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "runs.jsonl"
    names = [f"r__r-{i}" for i in range(8)]
    data.write_text(
        "".join(json.dumps(_mini_swe(n, submit=i % 2 == 0)) + "\n" for i, n in enumerate(names))
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(
            json.dumps({"instance_id": n, "resolved": i % 2 == 1}) + "\n"
            for i, n in enumerate(names)
        )
    )
    return data, labels


def test_eval_with_labels_profile_and_runs_out(tmp_path: Path) -> None:
    data, labels = _runs(tmp_path)
    out = tmp_path / "alarms.jsonl"
    args = ["detectors", "eval", "--data", str(data), "--labels", str(labels), "--profile",
            "coding", "--json", "--steps", "1,2,3", "--runs-out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"auc@1", "auc@3", "recall@fpr5", "false_alarm_rate"} <= set(report["combined"])
    profile = report["profile"]
    assert profile["name"] == "coding" and "review.finish" in profile["detectors"]
    assert {"alarm_step@fpr5", "alarm_step@fpr10"} <= set(profile)
    assert set(report["profiles"]) == {"default", "coding", "sql", "tool_use"}
    assert report["profiles"]["coding"]["false_alarm_rate"] == profile["false_alarm_rate"]
    assert report["profiles"]["default"]["alarm_step@fpr5"] is None  # no score to set
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 8 and set(lines[0]) == {"id", "success", "first_alarm_step", "detector"}
    # Even runs edit and submit unchecked (and failed): the finish review catches each one.
    by_id = {line["id"]: line for line in lines}
    assert by_id["r__r-0"]["detector"] == "review.finish" and not by_id["r__r-0"]["success"]
    assert by_id["r__r-0"]["first_alarm_step"] == 3
    assert by_id["r__r-1"]["first_alarm_step"] is None


def _main(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr(sys, "argv", ["dispatcher", *argv])
    with pytest.raises(SystemExit) as caught:
        main()
    return int(caught.value.code or 0)


def test_a_missing_label_exits_2_naming_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, labels = _runs(tmp_path)
    labels.write_text("".join(labels.read_text().splitlines(keepends=True)[:-1]))
    args = ["detectors", "eval", "--data", str(data), "--labels", str(labels)]
    assert _main(monkeypatch, *args) == 2
    err = capsys.readouterr().err
    assert "r__r-7" in err and "error:" in err and "Traceback" not in err


def test_an_unknown_profile_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, labels = _runs(tmp_path)
    args = ["detectors", "eval", "--data", str(data), "--labels", str(labels), "--profile", "x"]
    assert _main(monkeypatch, *args) == 2
    err = capsys.readouterr().err
    assert "fix:" in err and "coding" in err


edits: list[str] = []


@tool
def edit_file(path: str) -> ToolOutput:
    """Change a file."""
    edits.append(path)
    return ToolOutput(f"edited {path}", signals={"state_changed": True, "path": path})


@tool
def run_tests() -> ToolOutput:
    """Run the tests."""
    return ToolOutput("3 passed", signals={"tests_failed": 0, "tests_passed": 3})


CODER = Agent(
    name="coder",
    description="Changes code.",
    tools=[edit_file, run_tests],
    tier="weak",
    detectors={"profile": "coding"},
)


def _dispatch() -> list[object]:
    return [
        tool_calls(("coder", {"task": "fix it"}), agent="dispatcher"),
        reply("Fixed.", agent="dispatcher"),
    ]


def test_a_live_finish_without_a_passing_test_goes_to_the_overwatch_once() -> None:
    reg, small, strong = registry(
        [CODER],
        small=[
            _dispatch()[0],
            tool_calls(("edit_file", {"path": "app.py"}), agent="coder"),
            reply("done", agent="coder"),  # unchecked finish -> review
            tool_calls(("run_tests", {}), agent="coder"),
            reply("done, tests pass", agent="coder"),
            _dispatch()[1],
        ],
        strong=[tool_calls(("overwatch_decision", {"mode": "advise", "guidance": "run tests"}))],
    )
    result = Dispatcher(reg).run_sync("fix it")
    small.assert_complete()
    strong.assert_complete()
    verdicts = [e.model_dump() for e in result.events if e.kind == "detector"]
    assert [(v["detector"], v["action"]) for v in verdicts] == [("review.finish", "escalate")]
    assert verdicts[0]["evidence"]["files"] == ["app.py"]
    (episode,) = [e.model_dump() for e in result.events if e.kind == "escalation"]
    assert episode["trigger"] == "detector" and "review.finish" in episode["reason"]
    done = [e.model_dump() for e in result.events if e.kind == "agent_finished"]
    assert [d["output"] for d in done if d["agent"] == "coder"] == ["done, tests pass"]


def test_a_live_finish_after_a_passing_test_is_not_reviewed() -> None:
    reg, small, strong = registry(
        [CODER],
        small=[
            _dispatch()[0],
            tool_calls(("edit_file", {"path": "app.py"}), agent="coder"),
            tool_calls(("run_tests", {}), agent="coder"),
            reply("done", agent="coder"),
            _dispatch()[1],
        ],
    )
    result = Dispatcher(reg).run_sync("fix it")
    small.assert_complete()
    assert [e for e in result.events if e.kind in ("detector", "escalation")] == []


def _long_mini_swe(instance: str, submit: bool) -> dict[str, object]:
    """A run of 12+ steps: the coding profile scores from step 10 (combined.min_steps) on."""
    record = _mini_swe(instance, submit=submit)
    messages = record["messages"]
    assert isinstance(messages, list)
    for j in range(10):
        read = f"THOUGHT: read\n\n```bash\ncat src/module_{j}.py\n```"
        output = f"<returncode>0</returncode>\n<output>\nline {j}\n</output>"
        messages[1:1] = [
            {"role": "assistant", "content": read},
            {"role": "user", "content": output},
        ]
    return record


def test_calibrate_takes_labels_a_profile_and_repository_groups(tmp_path: Path) -> None:
    data = tmp_path / "runs.jsonl"
    rows = [(f"repo{g}__pkg-{i}", i % 2 == 0) for g in range(5) for i in range(6)]
    data.write_text("".join(json.dumps(_long_mini_swe(n, submit=ok)) + "\n" for n, ok in rows))
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"id": n, "resolved": not ok}) + "\n" for n, ok in rows))
    config = tmp_path / "d.yaml"
    args = ["detectors", "calibrate", "--data", str(data), "--labels", str(labels),
            "--profile", "coding", "--group-by", "repository", "--repeats", "1",
            "--config", str(config), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["settings"]["profile"] == "coding"
    assert set(payload["settings"]["combined"]["weights"]) == {
        "steps", "error_rate", "hedging", "text_tokens", "observation_tokens",
        "edits_since_test", "test_fail_streak",
    }  # fmt: skip
    assert "review.finish" not in payload["rules"]  # a review is no count to fit
    assert config.is_file()


def test_without_escalation_an_unchecked_finish_is_recorded_and_the_answer_kept() -> None:
    reg, small, _ = registry(
        [CODER],
        small=[
            _dispatch()[0],
            tool_calls(("edit_file", {"path": "app.py"}), agent="coder"),
            reply("done", agent="coder"),
            _dispatch()[1],
        ],
        dispatcher={"escalation": {"enabled": False}},
    )
    result = Dispatcher(reg).run_sync("fix it")
    small.assert_complete()
    verdicts = [e.model_dump() for e in result.events if e.kind == "detector"]
    assert [(v["detector"], v["action"]) for v in verdicts] == [("review.finish", "record")]
    assert [e for e in result.events if e.kind == "escalation"] == []


def test_a_calibrated_combined_score_is_switched_on_even_where_the_profile_has_it_off(
    tmp_path: Path,
) -> None:
    data = tmp_path / "runs.jsonl"
    rows = [(f"repo{g}__pkg-{i}", i % 2 == 0) for g in range(5) for i in range(6)]
    data.write_text("".join(json.dumps(_mini_swe(n, submit=ok)) + "\n" for n, ok in rows))
    labels = tmp_path / "labels.jsonl"
    # The submitted (3-step) runs succeed: the threshold needs successful runs of min_steps.
    labels.write_text("".join(json.dumps({"id": n, "resolved": ok}) + "\n" for n, ok in rows))
    args = ["detectors", "calibrate", "--data", str(data), "--labels", str(labels),
            "--repeats", "1", "--dry-run", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    settings = json.loads(result.output)["settings"]
    assert settings["profile"] == "default"  # no --profile: the safe default is the base
    assert settings["combined"]["enabled"] is True
