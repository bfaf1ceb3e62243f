"""The fast argument check never accepts what jsonschema rejects, and covers typical tools."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from jsonschema import Draft202012Validator

from dispatcher import tool
from dispatcher.tools._fast_schema import compile_fast_check


@tool
def search(
    query: str,
    limit: int = 5,
    mode: Literal["fast", "exact"] = "fast",
    ratio: float | None = None,
    tags: list[str] | None = None,
    strict: bool = False,
) -> str:
    """Search the catalogue."""
    return query


SCHEMAS: list[dict[str, Any]] = [
    search.parameters,
    {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    {"type": ["string", "null"]},
    {"enum": ["a", "b", 1]},
    {"const": "x"},
    {"type": "array", "items": {"type": "number"}},
    {},
]

INSTANCES: list[Any] = [
    {"query": "x"},
    {"query": "x", "limit": 3, "mode": "exact", "ratio": 0.5, "tags": ["a"], "strict": True},
    {"query": "x", "limit": True},
    {"query": "x", "limit": 2.0},
    {"query": "x", "limit": 2.5},
    {"query": "x", "mode": "slow"},
    {"query": "x", "extra": 1},
    {"query": 3},
    {"limit": 3},
    {"query": "x", "tags": ["a", 2]},
    {"query": "x", "ratio": True},
    {"n": 1},
    {"n": True},
    {"n": 1.0},
    {"n": "1"},
    {},
    [],
    [1, 2.5],
    [1, True],
    "a",
    "x",
    1,
    1.0,
    True,
    None,
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fast_check_accepts_only_what_jsonschema_accepts(schema: dict[str, Any]) -> None:
    check = compile_fast_check(schema)
    assert check is not None
    validator = Draft202012Validator(schema)
    for instance in INSTANCES:
        if check(instance):
            assert validator.is_valid(instance), (schema, instance)


def test_typical_valid_arguments_take_the_fast_path() -> None:
    check = compile_fast_check(search.parameters)
    assert check is not None
    assert check({"query": "x", "limit": 3, "mode": "exact", "ratio": None, "tags": ["a"]})


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "date"},
        {"$ref": "#/$defs/x", "$defs": {"x": {"type": "string"}}},
        {"type": "integer", "minimum": 0},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "array", "items": {"type": "string", "pattern": "^a"}},
    ],
)
def test_unknown_keywords_leave_the_decision_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_fast_check(schema) is None


def test_invalid_arguments_still_get_jsonschema_messages() -> None:
    errors = search.validation_errors({"query": "x", "limit": 2.5, "extra": 1})
    assert any("limit" in e for e in errors)
    assert any("extra" in e for e in errors)
    assert search.validation_errors({"query": "x", "limit": 2.0}) == []


def test_the_dispatcher_choice_fast_path_agrees_with_its_one_of_schema() -> None:
    from dispatcher import Agent
    from dispatcher.choice import ChoiceSchema

    schema = ChoiceSchema(
        [Agent(name="sales", description="Sales."), Agent(name="stock", description="Stock.")]
    )
    choices: list[Any] = [
        {"tool": "sales", "arguments": {"task": "q1 revenue"}},
        {"tool": "stock", "arguments": {"task": "sku 42"}},
        {"tool": "sales", "arguments": {"task": 3}},
        {"tool": "sales", "arguments": {}},
        {"tool": "other", "arguments": {"task": "x"}},
        {"tool": ["sales"], "arguments": {"task": "x"}},
        {"tool": "sales", "arguments": {"task": "x"}, "extra": 1},
        {"tool": "sales"},
        ["sales"],
    ]
    assert schema._certainly_valid(choices[0])
    for choice in choices:
        if schema._certainly_valid(choice):
            assert schema._validator.is_valid(choice), choice
