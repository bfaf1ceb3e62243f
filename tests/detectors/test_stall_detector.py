"""The stall detector fires after K steps without new information, and only then."""

from __future__ import annotations

from detector_runs import feed, step

from dispatcher.detectors import StallDetector, Step, TestProgressDetector


def test_identical_observations_stall_at_patience() -> None:
    steps = [step(0, "read", {"p": "a"}, "alpha beta gamma delta")]
    steps += [step(i, "read", {"p": f"a{i}"}, "alpha beta gamma delta") for i in range(1, 8)]
    verdicts = feed([StallDetector(4)], steps)
    assert verdicts[0].step == 4
    assert "identical observation" in verdicts[0].evidence["reasons"]


def test_new_facts_reset_the_stall() -> None:
    steps = [step(i, "read", {"p": str(i)}, f"fact{i} value{i} item{i} row{i}") for i in range(10)]
    assert feed([StallDetector(3)], steps) == []


def test_no_state_change_and_nothing_new_is_a_stall() -> None:
    steps = [step(0, "write", {"c": "x"}, "Wrote 1 byte", signals={"state_changed": True})]
    steps += [
        step(i, "write", {"c": "x"}, "Wrote 1 byte", signals={"state_changed": False})
        for i in range(1, 4)
    ]
    verdicts = feed([StallDetector(3)], steps)
    assert [v.step for v in verdicts] == [3]
    assert verdicts[0].evidence["reasons"] == ["no state change and nothing new"]


def test_the_same_sql_error_class_is_no_progress_even_with_new_words() -> None:
    steps = [
        step(
            i,
            "run_query",
            {"q": f"select col{i} from t"},
            f"no such column: col{i} near token{i}",
            error=True,
            signals={"sql_error": "no_such_column"},
        )
        for i in range(5)
    ]
    verdicts = feed([StallDetector(4)], steps)
    assert [v.step for v in verdicts] == [4]  # the first error is news, the next four are not
    assert "same SQL error class (no_such_column)" in verdicts[0].evidence["reasons"]


def test_failing_test_count_going_down_is_progress() -> None:
    steps = [
        step(
            i,
            "run_tests",
            {},
            "failures",
            error=True,
            signals={"tests_failed": 10 - i, "tests_passed": i},
        )
        for i in range(8)
    ]
    assert feed([StallDetector(3)], steps) == []


def test_the_same_query_result_again_is_no_progress() -> None:
    steps = [
        step(
            i,
            "run_query",
            {"q": f"select * from t -- {i}"},
            f"rows {i} new words here {i}",
            signals={"rows_hash": "abc"},
        )
        for i in range(4)
    ]
    verdicts = feed([StallDetector(3)], steps)
    assert [v.step for v in verdicts] == [3]


def _edit_and_test(index: int, failed: int, passed: int) -> list[Step]:
    return [
        step(
            index,
            "patch_file",
            {"path": "a.py", "new": f"v{index}"},
            "Patched a.py",
            signals={"state_changed": True},
        ),
        step(
            index + 1,
            "run_tests",
            {},
            f"{failed} failed, {passed} passed",
            error=failed > 0,
            signals={"tests_failed": failed, "tests_passed": passed, "state_changed": True},
        ),
    ]


def test_tests_not_improving_fire_on_the_third_run() -> None:
    steps = [
        step(
            0,
            "run_tests",
            {},
            "1 failed, 4 passed",
            error=True,
            signals={"tests_failed": 1, "tests_passed": 4},
        )
    ]
    steps += _edit_and_test(1, 1, 4) + _edit_and_test(3, 1, 4)
    verdicts = feed([TestProgressDetector(3)], steps)
    assert [v.step for v in verdicts] == [4]
    assert verdicts[0].evidence["steps"] == [0, 2, 4]
    assert verdicts[0].evidence["best_failed"] == 1


def test_tests_getting_better_never_fire() -> None:
    steps: list[Step] = []
    for i, failed in enumerate([5, 5, 4, 4, 3, 2, 2, 1, 0, 0]):
        steps += _edit_and_test(2 * i, failed, 10 - failed)
    assert feed([TestProgressDetector(3)], steps) == []
