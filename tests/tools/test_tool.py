"""A typed function becomes a tool with the exact schema that is validated."""

from __future__ import annotations

from typing import Literal

import pytest

from dispatcher import ToolContext, tool
from dispatcher.tools.tool import Tool


@tool
def search(query: str, limit: int = 5, mode: Literal["fast", "exact"] = "fast") -> str:
    """Search the catalogue.

    Args:
        query: words to look for,
            case-insensitive.
        limit: at most this many results.
    """
    return f"{query}:{limit}:{mode}"


def test_schema_comes_from_signature_and_docstring() -> None:
    assert search.name == "search"
    assert search.description == "Search the catalogue."
    props = search.parameters["properties"]
    assert props["query"] == {
        "type": "string",
        "description": "words to look for, case-insensitive.",
    }
    assert props["limit"]["type"] == "integer" and props["limit"]["default"] == 5
    assert props["mode"]["enum"] == ["fast", "exact"]
    assert search.parameters["required"] == ["query"]
    assert search.parameters["additionalProperties"] is False


def test_validation_uses_the_schema_that_was_sent() -> None:
    assert search.validation_errors({"query": "x"}) == []
    errors = search.validation_errors({"query": 3, "extra": 1})
    assert any("query" in e and "string" in e for e in errors)
    assert any("extra" in e for e in errors)
    assert search.spec.parameters is search.parameters


def test_dotted_names_become_provider_safe_wire_names() -> None:
    dotted = tool(name="sql.run_query")(lambda query: query)
    assert dotted.wire_name == "sql_run_query"


@pytest.mark.anyio
async def test_context_parameter_is_injected_not_exposed() -> None:
    seen: list[ToolContext] = []

    @tool
    def remember(note: str, ctx: ToolContext) -> str:
        """Remember a note."""
        seen.append(ctx)
        return note

    assert "ctx" not in remember.parameters["properties"]
    out = await remember.invoke({"note": "hi"}, ToolContext("run", "agent", "c1"))
    assert out == "hi" and seen[0].call_id == "c1"


@pytest.mark.anyio
async def test_async_functions_and_non_primitive_arguments() -> None:
    @tool
    async def total(values: list[float]) -> float:
        """Sum values."""
        return sum(values)

    assert isinstance(total, Tool)
    assert await total.invoke({"values": [1, 2.5]}, ToolContext("r", "a", "c")) == 3.5
