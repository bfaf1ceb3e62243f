"""Validation gates for cascades: the SQL returns rows, the tests pass, the JSON fits a schema.

Each implements `dispatcher.gates.Gate`: an async callable over the answer text with a `name`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from dispatcher.errors import ConfigError
from dispatcher.gates import GateResult
from dispatcher_tools.sql import SqlToolkit
from dispatcher_tools.workspace import WorkspaceToolkit

__all__ = ["JsonSchemaGate", "SqlReturnsRowsGate", "TestsPassGate", "fenced_block"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


def fenced_block(text: str, language: str) -> str | None:
    """The last ```language block of `text` (the final answer usually comes last), or None."""
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() == language]
    return blocks[-1].strip() if blocks else None


class SqlReturnsRowsGate:
    """Passes when the answer's SQL (its ```sql block, else the whole text) returns a row."""

    name = "sql_returns_rows"

    def __init__(self, toolkit: SqlToolkit) -> None:
        self.toolkit = toolkit

    async def __call__(self, answer: str) -> GateResult:
        query = fenced_block(answer, "sql") or answer.strip()
        result = await anyio.to_thread.run_sync(self.toolkit.execute, query)
        evidence: dict[str, Any] = {"query": query, **result.signals}
        if not result.ok:
            return GateResult(False, f"the SQL failed ({result.error_class})", evidence)
        if not result.rows:
            return GateResult(False, "the SQL ran but returned no rows", evidence)
        return GateResult(True, f"the SQL returned {len(result.rows)} row(s)", evidence)


class TestsPassGate:
    """Passes when pytest, run in the workspace sandbox, exits 0 (tests ran, none failed)."""

    __test__ = False  # not a pytest test class despite the name
    name = "tests_pass"

    def __init__(self, toolkit: WorkspaceToolkit) -> None:
        self.toolkit = toolkit

    async def __call__(self, answer: str) -> GateResult:
        report = await self.toolkit.pytest()
        evidence = {
            "tests_passed": report.passed,
            "tests_failed": report.failed + report.errors,
            "exit_code": report.result.exit_code,
            "timed_out": report.result.timed_out,
        }
        if report.ok:
            return GateResult(True, f"{report.passed} test(s) passed", evidence)
        why = report.result.status_line()
        return GateResult(
            False,
            f"{report.failed} failed, {report.errors} errors, {report.passed} passed ({why})",
            evidence,
        )


class JsonSchemaGate:
    """Passes when the answer (or its ```json block) parses and validates against `schema`."""

    name = "json_schema"

    def __init__(self, schema: Mapping[str, Any]) -> None:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise ConfigError(
                f"invalid JSON Schema: {exc.message}",
                field="schema",
                fix="give a valid JSON Schema (draft 2020-12)",
            ) from exc
        self.schema = dict(schema)
        self._validator = Draft202012Validator(self.schema)

    async def __call__(self, answer: str) -> GateResult:
        text = fenced_block(answer, "json") or answer.strip()
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return GateResult(False, f"the answer is not valid JSON: {exc}", {"parsed": False})
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            messages = [
                f"{'/'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors[:5]
            ]
            return GateResult(
                False,
                "the JSON does not match the schema: " + "; ".join(messages),
                {"parsed": True, "errors": messages},
            )
        return GateResult(True, "the JSON matches the schema", {"parsed": True})
