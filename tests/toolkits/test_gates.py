"""Validation gates: SQL returns rows, tests pass, JSON matches its schema."""

from __future__ import annotations

import pytest
from dispatcher_tools.gates import JsonSchemaGate, SqlReturnsRowsGate, TestsPassGate, fenced_block
from dispatcher_tools.sql import SqlToolkit
from dispatcher_tools.workspace import WorkspaceToolkit

from dispatcher.errors import ConfigError
from dispatcher.gates import Gate

SCHEMA = {
    "type": "object",
    "properties": {"genre": {"type": "string"}, "total": {"type": "number"}},
    "required": ["genre", "total"],
}


def test_fenced_block_takes_the_last_block_of_the_language() -> None:
    text = "First:\n```sql\nSELECT 1\n```\nBetter:\n```SQL\nSELECT 2\n```\n```json\n{}\n```"
    assert fenced_block(text, "sql") == "SELECT 2"
    assert fenced_block(text, "python") is None


def test_gates_satisfy_the_gate_protocol(sql: SqlToolkit, workspace: WorkspaceToolkit) -> None:
    gates: list[Gate] = [SqlReturnsRowsGate(sql), TestsPassGate(workspace), JsonSchemaGate({})]
    assert [g.name for g in gates] == ["sql_returns_rows", "tests_pass", "json_schema"]


@pytest.mark.anyio
async def test_sql_gate_passes_when_the_query_returns_rows(sql: SqlToolkit) -> None:
    answer = "Here is the query:\n```sql\nSELECT Name FROM Genre WHERE GenreId = 1\n```\nDone."
    result = await SqlReturnsRowsGate(sql)(answer)
    assert result.passed
    assert result.evidence["rows"] == 1
    assert result.evidence["query"] == "SELECT Name FROM Genre WHERE GenreId = 1"


@pytest.mark.anyio
async def test_sql_gate_uses_the_whole_text_without_a_block(sql: SqlToolkit) -> None:
    assert (await SqlReturnsRowsGate(sql)("SELECT 1")).passed


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("```sql\nSELECT Name FROM Genre WHERE GenreId = -1\n```", "no rows"),
        ("```sql\nSELECT Nme FROM Genre\n```", "unknown_column"),
        ("```sql\nDELETE FROM Genre\n```", "denied"),
    ],
)
async def test_sql_gate_fails_on_no_rows_or_an_error(
    sql: SqlToolkit, answer: str, reason: str
) -> None:
    result = await SqlReturnsRowsGate(sql)(answer)
    assert not result.passed
    assert reason in result.reason


@pytest.mark.anyio
async def test_tests_gate_follows_pytest(workspace: WorkspaceToolkit) -> None:
    workspace.write_file("test_it.py", "def test_it():\n    assert 1 + 1 == 3\n")
    gate = TestsPassGate(workspace)
    failing = await gate("I fixed it")
    assert not failing.passed
    assert failing.evidence["tests_failed"] == 1
    workspace.patch_file("test_it.py", "== 3", "== 2")
    passing = await gate("I fixed it")
    assert passing.passed
    assert passing.evidence == {
        "tests_passed": 1, "tests_failed": 0, "exit_code": 0, "timed_out": False
    }  # fmt: skip


@pytest.mark.anyio
async def test_tests_gate_fails_when_no_tests_ran(workspace: WorkspaceToolkit) -> None:
    result = await TestsPassGate(workspace)("done")
    assert not result.passed
    assert result.evidence["exit_code"] == 5


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "passed"),
    [
        ('{"genre": "Rock", "total": 826.65}', True),
        ('The answer:\n```json\n{"genre": "Rock", "total": 826.65}\n```', True),
        ('{"genre": "Rock"}', False),
        ('{"genre": "Rock", "total": "a lot"}', False),
        ("Rock, 826.65", False),
    ],
)
async def test_json_gate(answer: str, passed: bool) -> None:
    result = await JsonSchemaGate(SCHEMA)(answer)
    assert result.passed is passed, result.reason


@pytest.mark.anyio
async def test_json_gate_explains_what_is_wrong() -> None:
    result = await JsonSchemaGate(SCHEMA)('{"genre": 3, "total": 1}')
    assert "genre: 3 is not of type 'string'" in result.reason
    invalid = await JsonSchemaGate(SCHEMA)("not json")
    assert "not valid JSON" in invalid.reason


def test_json_gate_rejects_an_invalid_schema() -> None:
    with pytest.raises(ConfigError, match="schema"):
        JsonSchemaGate({"type": "no-such-type"})
