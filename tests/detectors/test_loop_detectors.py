"""Each loop pattern fires at its documented step, with evidence; look-alikes do not."""

from __future__ import annotations

from dataclasses import replace

from detector_runs import feed, message, step

from dispatcher.detectors import (
    AlternationDetector,
    DetectorSettings,
    FailingRepeatDetector,
    MonologueDetector,
    NavigationDetector,
    RepeatDetector,
    build_detectors,
)


def test_repeat_fires_at_the_fourth_identical_action_and_result() -> None:
    steps = [step(i, "search", {"q": "timeout"}, "no results") for i in range(5)]
    verdicts = feed([RepeatDetector(4)], steps)
    assert [v.step for v in verdicts] == [3]
    evidence = verdicts[0].evidence
    assert evidence["count"] == 4
    assert evidence["steps"] == [0, 1, 2, 3]
    assert "timeout" in evidence["action"]


def test_repeat_ignores_polling_with_changing_results() -> None:
    steps = [step(i, "job_status", {"id": 7}, f"running {i * 10}%") for i in range(8)]
    assert feed([RepeatDetector(4)], steps) == []


def test_a_state_change_breaks_a_repeat() -> None:
    steps = [
        step(i, "run_tests", {}, "1 failed", signals={"state_changed": i % 2 == 0})
        for i in range(8)
    ]
    assert feed([RepeatDetector(4)], steps) == []


def test_same_failing_action_fires_at_the_third_failure_even_with_reads_between() -> None:
    steps = [
        step(0, "run", {"cmd": "make"}, "error: missing ;", error=True),
        step(1, "read_file", {"path": "a.c"}, "int main() { return 0 }"),
        step(2, "run", {"cmd": "make"}, "error: missing ;", error=True),
        step(3, "grep", {"q": "main"}, "a.c:1: int main()"),
        step(4, "run", {"cmd": "make"}, "error: missing ;", error=True),
    ]
    verdicts = feed([FailingRepeatDetector(3)], steps)
    assert [v.step for v in verdicts] == [4]
    assert verdicts[0].evidence["steps"] == [0, 2, 4]


def test_rerunning_failing_tests_after_a_change_is_not_a_failing_loop() -> None:
    steps = []
    for i in range(4):
        steps.append(
            step(
                2 * i,
                "write_file",
                {"path": "a.py", "content": f"v{i}"},
                "ok",
                signals={"state_changed": True},
            )
        )
        steps.append(
            step(
                2 * i + 1, "run_tests", {}, "1 failed", error=True, signals={"state_changed": True}
            )
        )
    assert feed(build_detectors(), steps) == []


def test_same_action_failing_differently_is_not_a_failing_loop() -> None:
    steps = [step(i, "run", {"cmd": "pytest"}, f"{5 - i} failed", error=True) for i in range(5)]
    assert feed([FailingRepeatDetector(3)], steps) == []


def test_alternation_fires_after_three_cycles() -> None:
    a = ("open", {"path": "a.py"}, "A contents")
    b = ("open", {"path": "b.py"}, "B contents")
    steps = [step(i, *(a if i % 2 == 0 else b)) for i in range(8)]
    verdicts = feed([AlternationDetector(3)], steps)
    assert verdicts[0].step == 5  # A B A B A B
    assert verdicts[0].evidence["pattern"] == "cycle of 2 identical steps"


def test_alternation_of_period_three() -> None:
    cycle = [("a", {}, "1"), ("b", {}, "2"), ("c", {}, "3")]
    steps = [step(i, *cycle[i % 3]) for i in range(9)]
    verdicts = feed([AlternationDetector(3)], steps)
    assert [v.step for v in verdicts] == [8]


def test_monologue_fires_on_the_third_identical_message() -> None:
    steps = [
        message(0, "I will now fix the bug.", "ok"),
        step(1, "read_file", {"path": "x"}, "content"),
        message(2, "I will now fix the   bug.", "ok"),
        message(3, "i will now fix the bug.", "ok"),
    ]
    verdicts = feed([MonologueDetector(3)], steps)
    assert [v.step for v in verdicts] == [3]


def test_navigation_commands_count_as_one_class() -> None:
    tools = [
        ("bash", {"command": c})
        for c in ("grep -rn foo .", "find . -name x", "ls src", "cat a.py | head", "tail -5 log")
    ]
    steps = [step(i, *tools[i % len(tools)], f"output {i}") for i in range(6)]
    verdicts = feed([NavigationDetector(6)], steps)
    assert [v.step for v in verdicts] == [5]


def test_shell_navigation_is_read_from_the_action_when_arguments_are_not_kept() -> None:
    # The live worker keeps only the canonical JSON in `action` (no parsed dict per step).
    commands = ("grep -rn foo .", "find . -name x", "ls src", "cat a.py", "tail -5 log")
    steps = [
        replace(step(i, "bash", {"command": commands[i % 5]}, f"output {i}"), arguments=None)
        for i in range(6)
    ]
    assert steps[0].call_arguments() == {"command": "grep -rn foo ."}
    assert [v.step for v in feed([NavigationDetector(6)], steps)] == [5]
    edits = [replace(s, action='bash({"command": "sed -i s/a/b/ f.py"})') for s in steps]
    assert feed([NavigationDetector(6)], edits) == []


def test_an_edit_breaks_the_navigation_streak() -> None:
    steps = [step(i, "read_file", {"path": f"f{i}.py"}, f"body {i}") for i in range(5)]
    steps.append(step(5, "write_file", {"path": "f.py", "content": "x"}, "ok"))
    steps += [step(6 + i, "grep", {"q": f"n{i}"}, f"hit {i}") for i in range(4)]
    assert feed([NavigationDetector(6)], steps) == []


def test_a_null_count_switches_a_pattern_off() -> None:
    settings = DetectorSettings.from_mapping({"loop": {"repeats": None}})
    names = [d.name for d in build_detectors(settings)]
    assert "loop.repeat" not in names
    assert "loop.failing" in names


def test_defaults_are_at_least_as_quick_as_the_peers() -> None:
    loop = DetectorSettings().loop
    assert loop.repeats is not None and loop.repeats <= 4  # OpenHands: 4 identical pairs
    assert loop.failing_repeats is not None and loop.failing_repeats <= 3  # OpenHands: 3
    identical_calls = [step(i, "ls", {}, "same") for i in range(5)]
    first = feed(build_detectors(), identical_calls)[0]
    assert first.step <= 4  # Gemini CLI: 5 identical calls
