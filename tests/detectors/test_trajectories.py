"""Labelled runs: our JSONL format and the importers, with errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from detector_runs import step, trajectory

from dispatcher.errors import DataError
from dispatcher.trace.events import ModelCall, RunFinished, RunStarted, ToolCallEvent
from dispatcher.trajectories import (
    check_both_outcomes,
    detect_format,
    load_trajectories,
    write_trajectories,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_round_trip(tmp_path: Path) -> None:
    runs = [
        trajectory(
            "a", "t1", True, [step(0, "ls", {"p": "."}, "x", signals={"state_changed": False})]
        ),
        trajectory("b", "t1", False, [step(0, "ls", {}, "err", error=True)]),
    ]
    path = tmp_path / "runs.jsonl"
    write_trajectories(path, runs)
    assert detect_format(path) == "jsonl"
    assert load_trajectories(path) == runs


def test_the_minimal_design_format_loads(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "r.jsonl",
        [
            {
                "id": "r1",
                "group": "g",
                "success": False,
                "strong_success": True,
                "steps": [{"action": "grep foo", "observation": "none", "error": False}],
            },
        ],
    )
    (run,) = load_trajectories(path)
    assert run.strong_success is True
    assert run.steps[0].action == "grep foo"


def test_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "success": true, "steps": []}\n{"id": "b", "succ\n')
    with pytest.raises(DataError) as caught:
        load_trajectories(path, "jsonl")
    assert caught.value.line == 2


def test_a_missing_field_names_the_line(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "r.jsonl",
        [
            {"id": "a", "success": True, "steps": []},
            {"id": "b", "steps": []},
        ],
    )
    with pytest.raises(DataError, match="'success'") as caught:
        load_trajectories(path)
    assert caught.value.line == 2


def test_a_single_class_dataset_is_a_clear_error() -> None:
    runs = [trajectory(str(i), "g", True, []) for i in range(3)]
    with pytest.raises(DataError, match="all 3 runs are successful"):
        check_both_outcomes(runs, "runs.jsonl")


def test_openai_messages_with_tool_calls(tmp_path: Path) -> None:
    record = {
        "task_id": 7,
        "trial": 0,
        "reward": 0.0,
        "traj": [
            {"role": "system", "content": "policy"},
            {"role": "user", "content": "change my flight"},
            {"role": "assistant", "content": "Your user id?"},
            {"role": "user", "content": "mia_1"},
            {
                "role": "assistant",
                "content": "Looking.",
                "tool_calls": [
                    {
                        "id": "c1",
                        "function": {"name": "get_user", "arguments": '{"user_id":"mia_1"}'},
                    },
                    {"id": "c1", "function": {"name": "book", "arguments": '{"f":"HAT1"}'}},
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "c1",
                "name": "get_user",
                "content": '{"name": "Mia"}',
            },
            {"role": "tool", "tool_call_id": "c1", "name": "book", "content": "Error: no seats"},
        ],
    }
    path = tmp_path / "tau.json"
    path.write_text(json.dumps([record]))
    assert detect_format(path) == "openai"
    (run,) = load_trajectories(path)
    assert (run.id, run.group, run.success) == ("7-0", "7", False)
    text, lookup, book = run.steps
    assert text.tool is None and text.observation == "mia_1"
    assert lookup.action == 'get_user({"user_id": "mia_1"})' and lookup.text == "Looking."
    assert lookup.observation == '{"name": "Mia"}' and not lookup.error
    assert book.observation == "Error: no seats" and book.error  # reused call id, by position


def test_mini_swe_agent_log() -> None:
    path = FIXTURES / "mini_swe.jsonl"
    assert detect_format(path) == "swe"
    ok, bad = load_trajectories(path)
    assert ok.success and not bad.success
    assert ok.group == bad.group == "acme__timeparse-101"
    assert ok.steps[0].arguments == {"command": "grep -rn 'def parse_duration' src/"}
    assert ok.steps[0].text == "Let me find where parse_duration is defined."
    # sed -i; the exit code is read from the observation (dispatcher.detectors._observed_signals)
    assert ok.steps[3].signals == {"state_changed": True, "exit_code": 0}
    assert bad.steps[1].tool is None and bad.steps[1].error  # format error: no bash block
    assert [s.error for s in bad.steps[3:]] == [True] * 5  # <returncode>1</returncode>


def test_swe_agent_trajectory() -> None:
    path = FIXTURES / "swe_agent.traj"
    (run,) = load_trajectories(path)
    assert not run.success
    assert [s.error for s in run.steps] == [False, False, True, False]
    assert run.steps[0].action == "find_file core.py"


def test_unlabelled_swe_runs_are_rejected(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "m.jsonl",
        [{"messages": [{"role": "assistant", "content": "THOUGHT: x\n\n```bash\nls\n```"}]}],
    )
    with pytest.raises(DataError, match="no outcome"):
        load_trajectories(path)


def _event(cls: type, **fields: object) -> str:
    base = {"run_id": "run1", "ts": "2025-01-01T00:00:00Z", "span_id": "s"}
    return cls(**base, **fields).model_dump_json()


def test_dispatcher_traces(tmp_path: Path) -> None:
    lines = [
        _event(RunStarted, task="fix the bug"),
        _event(
            ModelCall,
            agent="coder",
            model="small",
            input_tokens=1,
            output_tokens=1,
            cost_usd=None,
            latency_ms=1.0,
            tool_calls=["run_tests"],
            text="Run tests.",
        ),
        _event(
            ToolCallEvent,
            agent="coder",
            tool="run_tests",
            call_id="1",
            arguments={},
            ok=False,
            error="1 failed",
            output="1 failed",
            signals={"tests_failed": 1},
        ),
        _event(
            ModelCall,
            agent="coder",
            model="small",
            input_tokens=1,
            output_tokens=1,
            cost_usd=None,
            latency_ms=1.0,
            text="I give up.",
        ),
        _event(RunFinished, status="error", cost_usd=None, counterfactual_cost_usd=None),
    ]
    path = tmp_path / "run1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert detect_format(path) == "trace"
    (run,) = load_trajectories(path)
    assert (run.id, run.group, run.success) == ("run1", "fix the bug", False)
    tests, text = run.steps
    assert tests.action == "run_tests({})" and tests.error and tests.text == "Run tests."
    assert tests.signals == {"tests_failed": 1}
    assert text.tool is None and text.text == "I give up."


def test_an_invalid_trace_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        _event(RunStarted, task="t")
        + '\n{"kind": "tool_call", "run_id": "x"}\n'
        + _event(RunStarted, task="t")
        + "\n"
    )
    with pytest.raises(DataError) as caught:
        load_trajectories(path, "trace")
    assert caught.value.line == 2
