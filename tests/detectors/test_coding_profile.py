"""Coding signals, the finish review, profiles, and labels kept apart from the runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from detector_runs import step

from dispatcher.detectors import DetectorSettings, build_detectors, merge
from dispatcher.detectors._coding import coding_facts
from dispatcher.detectors._finish import FinishReviewDetector
from dispatcher.detectors._profiles import PROFILES
from dispatcher.errors import ConfigError, DataError
from dispatcher.trajectories import load_trajectories, read_labels


def _bash(index: int, command: str, output: str = "", *, code: int = 0, changed: bool = False):
    signals: dict[str, object] = {"exit_code": code}
    if changed:
        signals["state_changed"] = True
    return step(index, "bash", {"command": command}, output, error=code != 0, signals=signals)


def test_coding_facts_tell_tests_edits_cleanup_and_finish_apart() -> None:
    test = coding_facts(_bash(0, "python -m pytest tests/test_x.py", code=1), True)
    assert test.test_run and test.test_passed is False and not test.edit
    repro = coding_facts(_bash(1, "python reproduce_issue.py"), False)
    assert repro.test_run and repro.test_passed is True
    edit = coding_facts(_bash(2, "sed -i 's/a/b/' pkg/models.py", changed=True), False)
    assert edit.edit and edit.files == ("pkg/models.py",)
    cleanup = coding_facts(_bash(3, "rm reproduce_issue.py", changed=True), False)
    assert not cleanup.edit
    scratch = coding_facts(_bash(4, "cat <<'EOF' > test_fix.py\nx\nEOF", changed=True), False)
    assert not scratch.edit
    finish = coding_facts(_bash(5, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff"), False)
    assert finish.finish and not finish.test_run
    live = step(7, "workspace_run_command", {"command": "python -m pytest -q"}, "", error=True)
    assert coding_facts(live, True).test_passed is False
    write = step(8, "workspace.write_file", {"path": "a.py", "content": "pytest"}, "")
    assert not coding_facts(write, False).test_run  # a file's content is not a command
    counts = step(6, "workspace.run_tests", {}, "", signals={"tests_failed": 0, "tests_passed": 3})
    assert coding_facts(counts, False).test_passed is True


def test_finish_review_fires_on_a_finish_after_an_unchecked_edit() -> None:
    steps = [
        _bash(0, "python -m pytest", code=1),
        _bash(1, "sed -i 's/a/b/' pkg/models.py", changed=True),
        _bash(2, "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"),
    ]
    detector = FinishReviewDetector()
    verdicts = [detector(steps[: i + 1]) for i in range(len(steps))]
    assert verdicts[:2] == [None, None]
    assert verdicts[2] is not None and verdicts[2].detector == "review.finish"
    assert verdicts[2].evidence["files"] == ["pkg/models.py"]
    assert verdicts[2].evidence["last_test_passed"] is False


def test_finish_review_is_quiet_when_a_test_passed_after_the_last_edit() -> None:
    steps = [
        _bash(0, "sed -i 's/a/b/' pkg/models.py", changed=True),
        _bash(1, "python -m pytest"),
        _bash(2, "rm reproduce_issue.py", changed=True),
    ]
    assert FinishReviewDetector().at_finish(steps) is None
    assert FinishReviewDetector().at_finish(steps[:1]) is not None
    assert FinishReviewDetector().at_finish([]) is None  # nothing edited: nothing to review


def test_profiles_are_selectable_by_name_and_overridable() -> None:
    coding = DetectorSettings.from_mapping({"profile": "coding"})
    assert coding.finish_review and coding.loop.navigation_streak == 30
    assert DetectorSettings.from_mapping("coding") == coding
    tuned = DetectorSettings.from_mapping({"profile": "coding", "stall": {"patience": 9}})
    assert tuned.stall.patience == 9 and tuned.stall.test_runs == coding.stall.test_runs
    assert "review.finish" in [d.name for d in build_detectors(coding)]
    assert "review.finish" not in [d.name for d in build_detectors(DetectorSettings())]
    assert set(PROFILES) == {"default", "coding", "sql", "tool_use"}


def test_an_agent_naming_a_profile_starts_from_it_not_from_the_registry() -> None:
    registry = DetectorSettings.from_mapping({"stall": {"patience": 3}})
    agent = merge(registry, {"profile": "sql"})
    assert agent.profile == "sql" and agent.stall.patience == PROFILES["sql"]["stall"]["patience"]
    assert merge(registry, {"loop": {"repeats": 5}}).stall.patience == 3


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        DetectorSettings.from_mapping({"profile": "codng"})
    assert "coding" in str(info.value)


def _mini_swe(instance: str, submit: bool = True) -> dict[str, object]:
    turns: list[dict[str, str]] = [{"role": "user", "content": "fix the bug"}]
    for command in ["ls", "sed -i 's/a/b/' x.py"] + (
        ["echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"] if submit else []
    ):
        turns.append({"role": "assistant", "content": f"THOUGHT: go\n\n```bash\n{command}\n```"})
        turns.append({"role": "user", "content": "<returncode>0</returncode>\n<output>\n</output>"})
    return {"instance_id": instance, "messages": turns}


def test_labels_come_from_a_separate_file_in_every_accepted_form(tmp_path: Path) -> None:
    folder = tmp_path / "trajs"
    folder.mkdir()
    for name in ("a__b-1", "a__b-2"):
        record = _mini_swe(name)
        del record["instance_id"]  # the file name is the instance id
        (folder / f"{name}.traj.json").write_text(json.dumps(record))
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text(
        '{"instance_id": "a__b-1", "resolved": true}\n{"id": "a__b-2", "success": 0}\n'
    )
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"resolved_ids": ["a__b-1"], "unresolved_ids": ["a__b-2"]}))
    summary = tmp_path / "results_summary.json"
    summary.write_text(
        json.dumps({"instances": [{"instance_id": "a__b-1", "resolved": True},
                                  {"instance_id": "a__b-2", "resolved": False}]})
    )  # fmt: skip
    older = tmp_path / "results.json"
    older.write_text(json.dumps({"resolved": ["a__b-1"], "applied": ["a__b-1", "a__b-2"]}))
    per_instance = tmp_path / "per_instance.json"
    per_instance.write_text(
        json.dumps({"a__b-1": {"resolved": True}, "a__b-2": {"resolved": False}})
    )
    for labels in (jsonl, report, summary, older, per_instance):
        runs = load_trajectories(folder, labels=read_labels(labels))
        assert {r.id: r.success for r in runs} == {"a__b-1": True, "a__b-2": False}


def test_a_run_without_a_label_is_an_error_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "runs.jsonl"
    data.write_text("".join(json.dumps(_mini_swe(n)) + "\n" for n in ("x-1", "x-2")))
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"instance_id": "x-1", "resolved": true}\n')
    with pytest.raises(DataError) as info:
        load_trajectories(data, labels=read_labels(labels))
    assert "x-2" in str(info.value) and "x-1" not in str(info.value).split("label:")[1]


def test_runs_in_the_folders_the_agents_write_them_to(tmp_path: Path) -> None:
    # mini-swe-agent writes OUT/<instance>/<instance>.traj.json beside OUT/preds.json, and
    # SWE-agent writes OUT/<instance>/<instance>.traj: both load from OUT as they are.
    out = tmp_path / "out"
    for name in ("a__b-1", "a__b-2"):
        record = _mini_swe(name)
        del record["instance_id"]
        (out / name).mkdir(parents=True)
        (out / name / f"{name}.traj.json").write_text(json.dumps(record))
    (out / "preds.json").write_text("{}")
    (out / "minisweagent.log").write_text("log\n")
    labels = {"a__b-1": True, "a__b-2": False}
    runs = load_trajectories(out, labels=labels)
    assert {r.id: r.success for r in runs} == labels
    swe_agent = tmp_path / "swe_agent"
    fixture = json.loads((Path(__file__).parent / "fixtures" / "swe_agent.traj").read_text())
    del fixture["instance_id"], fixture["success"]  # as SWE-agent writes it
    for name in ("c__d-1", "c__d-2"):
        (swe_agent / name).mkdir(parents=True)
        (swe_agent / name / f"{name}.traj").write_text(json.dumps(fixture))
    runs = load_trajectories(swe_agent, labels={"c__d-1": True, "c__d-2": False})
    assert sorted(r.id for r in runs) == ["c__d-1", "c__d-2"]


def _openhands_chat(instance: str) -> dict[str, object]:
    """A run as SWE-rebench publishes OpenHands trajectories: chat messages under
    `trajectory`, tools `execute_bash`, `str_replace_editor` and `finish`."""

    def call(i: int, name: str, arguments: dict[str, str]) -> dict[str, object]:
        function = {"name": name, "arguments": json.dumps(arguments)}
        return {"role": "assistant", "content": "", "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": function}]}  # fmt: skip

    calls = [
        ("str_replace_editor", {"command": "view", "path": "/repo/src/core.py"}, "1 import re"),
        ("execute_bash", {"command": "grep -rn parse /repo/src"}, "src/core.py:3: def parse"),
        ("str_replace_editor", {"command": "str_replace", "path": "/repo/src/core.py",
                                "old_str": "a", "new_str": "b"}, "The file has been edited."),
        ("execute_bash", {"command": "cd /repo && python -m pytest tests -q"}, "3 passed"),
        ("finish", {"message": "done"}, ""),
    ]  # fmt: skip
    messages: list[dict[str, object]] = [{"role": "user", "content": "fix parse"}]
    for i, (name, arguments, result) in enumerate(calls):
        messages.append(call(i, name, arguments))
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": result})
    return {"instance_id": instance, "trajectory": messages, "resolved": 1}


def test_openhands_chat_runs_read_as_coding_work(tmp_path: Path) -> None:
    from dispatcher.detectors._actions import ActionClassifier

    path = tmp_path / "openhands.jsonl"
    path.write_text(json.dumps(_openhands_chat("o__h-1")) + "\n")
    (run,) = load_trajectories(path)
    assert run.success and [s.tool for s in run.steps][:2] == ["str_replace_editor", "execute_bash"]
    facts = [coding_facts(s, s.error) for s in run.steps]
    assert [f.edit for f in facts] == [False, False, True, False, False]
    assert facts[2].files == ("/repo/src/core.py",)
    assert facts[3].test_run and facts[3].test_passed and facts[4].finish
    classify = ActionClassifier().classify
    assert [classify(s.tool, s.arguments, s.action)[0] for s in run.steps] == [
        True, True, False, False, False]  # fmt: skip


def test_swe_agent_editor_commands_are_edits_and_views(tmp_path: Path) -> None:
    from dispatcher.detectors._actions import ActionClassifier

    entries = [
        {"thought": "look", "action": "str_replace_editor view /repo/a.py", "observation": "1 x"},
        {"thought": "fix", "action": "str_replace_editor str_replace /repo/a.py --old_str x "
         "--new_str y", "observation": "The file /repo/a.py has been edited."},
    ]  # fmt: skip
    path = tmp_path / "run.traj"
    path.write_text(json.dumps({"trajectory": entries, "instance_id": "s__a-1", "success": True}))
    (run,) = load_trajectories(path)
    assert [s.signals.get("state_changed") for s in run.steps] == [None, True]
    classify = ActionClassifier().classify
    assert [classify(s.tool, s.arguments, s.action)[0] for s in run.steps] == [True, False]
