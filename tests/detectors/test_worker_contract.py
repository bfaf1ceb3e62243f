"""What the worker loop relies on: fresh incremental detectors, a quiet healthy run, speed."""

from __future__ import annotations

import time

from detector_runs import feed, progressing_run, step

from dispatcher.detectors import Step, build_detectors


def test_a_progressing_thirty_step_run_fires_nothing() -> None:
    steps = progressing_run(30)
    assert len(steps) == 30
    tools = {s.tool for s in steps}
    assert {"write_file", "patch_file", "run_tests"} <= tools
    assert feed(build_detectors(), steps) == []


def test_batch_edits_across_files_fire_nothing() -> None:
    steps = [
        step(
            i,
            "write_file",
            {"path": f"pkg/m{i}.py", "content": "import os\n"},
            "Wrote 10 bytes",
            signals={"state_changed": True},
        )
        for i in range(12)
    ]
    assert feed(build_detectors(), steps) == []


def test_incremental_edits_to_one_file_fire_nothing() -> None:
    steps = [
        step(
            i,
            "patch_file",
            {"path": "app.py", "old_text": f"x = {i}", "new_text": f"x = {i + 1}"},
            "Patched app.py",
            signals={"state_changed": True},
        )
        for i in range(12)
    ]
    assert feed(build_detectors(), steps) == []


def test_every_detector_has_a_score_and_a_verdict_for_an_empty_run() -> None:
    for detector in build_detectors():
        assert detector([]) is None
        assert 0.0 <= detector.score([]) <= 1.0  # type: ignore[attr-defined]


def test_calling_twice_with_the_same_steps_gives_the_same_verdict() -> None:
    detectors = build_detectors()
    steps = [step(i, "ls", {}, "same") for i in range(4)]
    first = [d(steps) for d in detectors]
    again = [d(steps) for d in detectors]
    assert first == again
    assert any(v is not None for v in first)


def test_a_shorter_step_list_starts_a_new_run() -> None:
    detectors = build_detectors()
    looping = [step(i, "ls", {}, "same") for i in range(4)]
    feed(detectors, looping)
    fresh = [step(0, "ls", {}, "same")]
    assert all(d(fresh) is None for d in detectors)


def _timed(n: int, observation_chars: int) -> tuple[float, float]:
    detectors = build_detectors()
    steps: list[Step] = []
    words = " ".join(f"w{i}" for i in range(observation_chars // 4))
    times = []
    for i in range(n):
        steps.append(
            step(i, "bash", {"command": f"cat file{i % 37}.py"}, f"{words} unique{i} line {i}")
        )
        started = time.perf_counter()
        for d in detectors:
            d(steps)
        times.append(time.perf_counter() - started)
    head = sorted(times[50:150])[50]
    tail = sorted(times[-100:])[50]
    return head, tail


def test_cost_per_step_is_small_and_does_not_grow_with_the_run() -> None:
    head, tail = _timed(800, 4000)
    # Medians, to ignore scheduler noise. The budget is ~100 us per step; allow slow CI.
    assert tail < 2e-3
    assert tail < 3 * head + 50e-6
