"""Progress signals read from observation text: what is parsed, what not, how detectors use it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from detector_runs import feed, step

from dispatcher.detectors import (
    DetectorSettings,
    FailingRepeatDetector,
    StallDetector,
    Step,
    TestProgressDetector,
)
from dispatcher.detectors._observed_signals import (
    signals_from_observation,
    with_observed_signals,
)
from dispatcher.detectors._replay import replay
from dispatcher.trajectories import load_trajectories

PYTEST_RUN = 'bash({"command": "python -m pytest -q tests/ 2>&1 | tail -5"})'


def _tests(observation: str, action: str = PYTEST_RUN) -> tuple[Any, Any]:
    found = signals_from_observation(observation, action)
    return found.get("tests_failed"), found.get("tests_passed")


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        ("....F\n== 3 failed, 12 passed in 1.2s ==", (3, 12)),
        ("===== 1 failed, 3 passed, 2 warnings, 1 error in 0.52s =====", (2, 3)),
        ("....\n4 passed in 0.03s\n", (0, 4)),
        ("FAILED tests/test_a.py::test_x\n1 failed, 3 passed", (1, 3)),
        ("=== 2 failed, 98 passed, 3 skipped in 65.12s (0:01:05) ===", (2, 98)),
        ("\x1b[31m==== 1 failed, 1 passed in 0.10s ====\x1b[0m", (1, 1)),
        ("=== 2 errors in 0.31s ===", (2, 0)),
        ("no tests ran in 0.01s", (0, 0)),
        # tox: the env's pytest summary, then tox's own lines
        (
            "2 failed, 5 passed in 0.40s\npy311: exit 1 (0.52 seconds) /repo> pytest pid=42\n"
            "  py311: FAIL code 1 (1.10=setup[0.58]+cmd[0.52] seconds)\n"
            "  evaluation failed :( (1.20 seconds)",
            (2, 5),
        ),
        # the last summary wins (a re-run in one command)
        ("3 failed, 1 passed in 0.2s\n...\n1 failed, 3 passed in 0.2s", (1, 3)),
        # unittest and Django
        (
            "..FE\n" + "-" * 70 + "\nRan 14 tests in 0.002s\n\nFAILED (failures=2, errors=1)\n",
            (3, 11),
        ),
        ("Ran 14 tests in 0.002s\n\nOK (skipped=1)", (0, 13)),
        (
            "Ran 5 tests in 0.101s\n\nFAILED (failures=1)\n"
            "Destroying test database for alias 'default'...",
            (1, 4),
        ),
    ],
)
def test_test_summaries(observation: str, expected: tuple[int, int]) -> None:
    assert _tests(observation) == expected


def test_a_summary_in_a_mini_swe_observation() -> None:
    found = signals_from_observation(
        "<returncode>1</returncode>\n<output>\n.F..\n1 failed, 3 passed in 0.05s\n</output>",
        PYTEST_RUN,
    )
    assert found == {"exit_code": 1, "tests_failed": 1, "tests_passed": 3}


@pytest.mark.parametrize(
    ("observation", "kind"),
    [
        ("sqlite3.OperationalError: no such column: nme", "unknown_column"),
        ("Error: no such table: userz", "unknown_table"),
        ("table users has no column named nme (sqlite3.OperationalError)", "unknown_column"),
        ('Parse error: near "SELEC": syntax error', "syntax"),
        ("sqlite3.OperationalError: incomplete input", "syntax"),
        (
            "sqlite3.ProgrammingError: You can only execute one statement at a time.",
            "multiple_statements",
        ),
        ("sqlite3.OperationalError: attempt to write a readonly database", "denied"),
        ("sqlite3.IntegrityError: UNIQUE constraint failed: users.id", "other"),
        ('ERROR:  column "nme" does not exist\nLINE 1: select nme from users', "unknown_column"),
        ('ERROR:  column "a" of relation "t" does not exist', "unknown_column"),
        ("ERROR:  column users.nme does not exist", "unknown_column"),
        ('ERROR:  relation "userz" does not exist', "unknown_table"),
        ('ERROR:  syntax error at or near "FORM"', "syntax"),
        ("ERROR:  canceling statement due to statement timeout", "timeout"),
        ("ERROR:  permission denied for table salaries", "denied"),
        ("psycopg2.errors.DivisionByZero: division by zero", "other"),
        ("ERROR 1064 (42000): You have an error in your SQL syntax; check the manual", "syntax"),
        ("ERROR 1054 (42S22): Unknown column 'x' in 'field list'", "unknown_column"),
        ("ERROR 1146 (42S02): Table 'shop.userz' doesn't exist", "unknown_table"),
        ("ERROR 1142 (42000): DROP command denied to user 'app'@'localhost'", "denied"),
        ("ERROR 1062 (23000): Duplicate entry '1' for key 'PRIMARY'", "other"),
        ("SQL error (timeout): the query was stopped at the 5 s time limit.", "timeout"),
    ],
)
def test_sql_errors(observation: str, kind: str) -> None:
    action = 'run_sql({"query": "SELECT 1"})'
    assert signals_from_observation(observation, action)["sql_error"] == kind


def test_a_sql_error_that_ends_a_long_traceback() -> None:
    frames = '  File "/app/db.py", line 12, in query\n    cursor.execute(sql)\n' * 40
    error = "sqlite3.OperationalError: no such table: users"
    observation = f"Traceback (most recent call last):\n{frames}{error}"
    found = signals_from_observation(observation, 'bash({"command": "python report.py"})')
    assert found == {"exception": "OperationalError", "sql_error": "unknown_table"}


@pytest.mark.parametrize(
    ("observation", "code"),
    [
        ("<returncode>2</returncode>\n<output>\nusage: x\n</output>", 2),
        ("make: *** [all] Error 1\n[Command finished with exit code 2]", 2),
        ("exit code -9 (killed by SIGKILL: out of memory?)\n(no output)", -9),
        ("done\nExit code: 0", 0),
    ],
)
def test_exit_codes(observation: str, code: int) -> None:
    assert signals_from_observation(observation, "bash")["exit_code"] == code


@pytest.mark.parametrize(
    ("observation", "name"),
    [
        (
            'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
            "    import foo\nModuleNotFoundError: No module named 'foo'\n",
            "ModuleNotFoundError",
        ),
        (
            'Traceback (most recent call last):\n  File "m.py", line 3, in <module>\n    setup()\n'
            "django.core.exceptions.ImproperlyConfigured: settings are not configured",
            "ImproperlyConfigured",
        ),
        (  # chained: the last exception is the one that ended the program
            'Traceback (most recent call last):\n  File "a.py", line 2, in f\n    d["k"]\n'
            "KeyError: 'k'\n\nDuring handling of the above exception, another exception "
            'occurred:\n\nTraceback (most recent call last):\n  File "a.py", line 4, in <module>\n'
            "    f()\n    ^^^\nValueError: bad key",
            "ValueError",
        ),
        (
            "  File \"<string>\", line 1\n    x = (\n        ^\nSyntaxError: '(' was never closed",
            "SyntaxError",
        ),
        (  # a traceback longer than the window: the last frame is enough
            "Traceback (most recent call last):\n"
            + '  File "lib.py", line 9, in call\n    return inner()\n' * 60
            + "RecursionError: maximum recursion depth exceeded",
            "RecursionError",
        ),
    ],
)
def test_exceptions(observation: str, name: str) -> None:
    action = 'bash({"command": "python x.py"})'
    assert signals_from_observation(observation, action)["exception"] == name


@pytest.mark.parametrize(
    "observation",
    [
        "I passed the test to the function",
        "We ran 3 tests in total and 2 failed.",
        "The 2 passed arguments are both strings.",
        '{"passed": 3, "failed": 1, "error": null}',
        "Your proposed edit has introduced new syntax error(s). Please read this error message.",
        "The column name does not exist in the report; there is no such table in the docs.",
        "Error: user not found",
        "Ran out of memory while loading the file",
        "Exit codes are documented in the README.",
        "2 warnings",
    ],
)
def test_prose_yields_nothing(observation: str) -> None:
    assert signals_from_observation(observation, "respond") == {}


@pytest.mark.parametrize(
    "action",
    [
        'bash({"command": "cat build.log"})',
        'bash({"command": "cd /repo && grep -rn \'no such table\' src/"})',
        "open tests/output.txt",
        'str_replace_editor({"command": "view", "path": "/repo/log.txt"})',
        'read_file({"path": "log.txt"})',
    ],
)
def test_showing_a_file_yields_its_exit_code_only(action: str) -> None:
    quoted = (
        "<returncode>0</returncode>\n<output>\nsqlite3.OperationalError: no such table: x\n"
        '  File "a.py", line 1\nKeyError: 1\n3 failed, 1 passed in 0.2s\n</output>'
    )
    assert signals_from_observation(quoted, action) == {"exit_code": 0}


def test_toolkit_signals_win() -> None:
    observation = "exit code 1\n1 failed, 4 passed in 0.1s"
    own = Step(0, "run_tests({})", observation, error=True, signals={"tests_failed": 2})
    # the toolkit's test counts stand as a group; the exit code it did not report is added
    assert with_observed_signals(own).signals == {"tests_failed": 2, "exit_code": 1}
    query = Step(1, "q()", "Error: no such table: x", signals={"rows_hash": "abc"})
    assert with_observed_signals(query) is query
    plain = Step(2, "lookup({})", '{"name": "Mia"}')
    assert with_observed_signals(plain) is plain


def _observed(index: int, action: str, observation: str, *, error: bool = False) -> Step:
    return with_observed_signals(Step(index, action, observation, error=error))


def test_the_same_failure_again_is_no_progress() -> None:
    steps = [
        _observed(
            i,
            f'bash({{"command": "python repro.py --try {i}"}})',
            f"<returncode>1</returncode>\nattempt {i} at {1000 + i * 37} ms\n"
            f'Traceback (most recent call last):\n  File "repro.py", line {i + 3}, in <module>\n'
            f"    import timeparse_v{i}\nModuleNotFoundError: No module named 'timeparse_v{i}'",
            error=True,
        )
        for i in range(4)
    ]
    stall = StallDetector(3)
    (verdict,) = feed([stall], steps)
    assert verdict.step == 3
    assert verdict.evidence["reasons"] == ["same failure (ModuleNotFoundError, exit code 1)"]


def test_a_run_where_no_test_ran_sets_no_best() -> None:
    def run(i: int, failed: int, passed: int) -> Step:
        return step(
            i, "run_tests", {}, "x", signals={"tests_failed": failed, "tests_passed": passed}
        )

    steps = [run(0, 0, 0), run(1, 2, 3), run(2, 2, 3), run(3, 2, 3)]
    (verdict,) = feed([TestProgressDetector(3)], steps)
    assert verdict.step == 3


def test_a_non_zero_exit_code_is_a_failure_for_the_loop_detector() -> None:
    # Logs that mark failures only through return codes: `error` stays False.
    steps = [
        _observed(i, 'bash({"command": "make build"})', "make: *** [all] Error 2\nexit code 2")
        for i in range(3)
    ]
    assert not any(s.error for s in steps)
    (verdict,) = feed([FailingRepeatDetector(3)], steps)
    assert verdict.detector == "loop.failing"


def _swe_run(path: Path, failing: list[int]) -> Path:
    """A SWE-agent .traj: look, then an edit and a test run per entry of `failing`."""
    entries: list[dict[str, str]] = [
        {"thought": "Find it.", "action": "find_file core.py", "observation": "/repo/core.py"}
    ]
    for n, failed in enumerate(failing):
        entries.append(
            {
                "thought": f"Try fix {n}.",
                "action": f"edit {n + 3}:{n + 3}\nUNITS['h'] = {3600 + n}\nend_of_edit",
                "observation": f"File updated (edit {n}). Please review the changes.",
            }
        )
        failures = "".join(
            f"FAILED tests/test_core.py::test_{k} - assert {k} == {n}\n" for k in range(failed)
        )
        entries.append(
            {
                "thought": "Run the tests.",
                "action": "python -m pytest -q tests/",
                "observation": f"{'F' * failed}{'.' * (6 - failed)}\n{failures}"
                f"{failed} failed, {6 - failed} passed in 0.{n + 1}2s",
            }
        )
    path.write_text(json.dumps({"instance_id": "acme-1", "success": False, "trajectory": entries}))
    return path


def test_replay_of_a_swe_agent_run_whose_failing_tests_never_improve(tmp_path: Path) -> None:
    (run,) = load_trajectories(_swe_run(tmp_path / "stuck.traj", [3, 3, 4, 3]))
    assert [s.signals.get("tests_failed") for s in run.steps[2::2]] == [3, 3, 4, 3]
    seen = replay(run, DetectorSettings())
    # steps 3, 5, 7, 9 run the tests; the third run that beat nothing is step 7 (1-based)
    assert seen.first_alarm["stall.tests"] == 7


def test_replay_of_a_swe_agent_run_whose_failing_tests_go_down(tmp_path: Path) -> None:
    (run,) = load_trajectories(_swe_run(tmp_path / "fixing.traj", [3, 2, 2, 1, 0]))
    seen = replay(run, DetectorSettings())
    assert seen.first_alarm["stall.tests"] is None
