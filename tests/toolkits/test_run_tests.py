"""`workspace.run_tests` runs pytest in the sandbox and reports counts as progress signals."""

from __future__ import annotations

import pytest
from dispatcher_tools.workspace import WorkspaceToolkit
from dispatcher_tools.workspace._pytest_report import parse_counts

from dispatcher.tools.tool import ToolContext

CALC_TESTS = """\
from calc import add, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2
"""


@pytest.fixture
def package(workspace: WorkspaceToolkit) -> WorkspaceToolkit:
    workspace.write_file("calc.py", "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n"
                         "    return a + b\n")  # fmt: skip
    workspace.write_file("tests/test_calc.py", CALC_TESTS)
    return workspace


@pytest.mark.anyio
async def test_counts_passed_and_failed_tests(package: WorkspaceToolkit) -> None:
    output = await package.run_tests()
    assert output.is_error
    assert output.signals == {
        "tests_passed": 1,
        "tests_failed": 1,
        "tests_errors": 0,
        "exit_code": 1,
        "timed_out": False,
        "state_changed": True,
    }
    assert output.content.startswith("1 passed, 1 failed, 0 errors; exit code 1")
    assert "test_sub" in output.content


@pytest.mark.anyio
async def test_state_changed_tracks_edits_between_runs_of_one_run_id(
    package: WorkspaceToolkit,
) -> None:
    tool = next(t for t in package.tools() if t.name == "workspace.run_tests")
    assert "context" not in tool.parameters["properties"]
    run_a = ToolContext(run_id="a", agent="coder", call_id="1")
    first = await tool.invoke({}, run_a)
    again = await tool.invoke({}, run_a)
    assert first.signals["state_changed"] is True
    assert again.signals["state_changed"] is False  # nothing changed: a stall signal
    other_run = await tool.invoke({}, ToolContext(run_id="b", agent="coder", call_id="1"))
    assert other_run.signals["state_changed"] is True
    package.patch_file(
        "calc.py", "def sub(a, b):\n    return a + b", "def sub(a, b):\n    return a - b"
    )
    fixed = await tool.invoke({}, run_a)
    assert fixed.signals["state_changed"] is True
    assert fixed.signals["tests_passed"] == 2 and fixed.signals["tests_failed"] == 0
    assert not fixed.is_error


@pytest.mark.anyio
async def test_pytest_args_select_tests(package: WorkspaceToolkit) -> None:
    output = await package.run_tests("tests/test_calc.py -k add")
    assert output.signals["tests_passed"] == 1 and output.signals["tests_failed"] == 0
    bad = await package.run_tests("'unclosed")
    assert bad.signals["workspace_error"] == "bad_args"


@pytest.mark.anyio
async def test_collection_errors_count_as_failing(workspace: WorkspaceToolkit) -> None:
    workspace.write_file("test_broken.py", "import not_a_module\n")
    output = await workspace.run_tests()
    assert output.signals["tests_errors"] == 1
    assert output.signals["tests_failed"] == 1
    assert output.is_error


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        ("1 failed, 2 passed in 0.05s", {"failed": 1, "passed": 2}),
        ("==== 3 passed, 1 warning in 1.20s ====", {"passed": 3, "warnings": 1}),
        ("1 error in 0.10s", {"errors": 1}),
        ("2 failed, 1 passed, 3 errors in 2s", {"failed": 2, "passed": 1, "errors": 3}),
        ("no tests ran in 0.01s", {}),
    ],
)
def test_summary_line_parsing(line: str, counts: dict[str, int]) -> None:
    assert parse_counts(f"some output\nFAILED x - assert 1 == 2 in 3s?\n{line}\n") == counts
