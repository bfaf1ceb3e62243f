"""Defining a tool wrongly is a ConfigError saying what to fix, at definition time."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher import ConfigError, Tool, tool


def lookup(key: str) -> str:
    """Look a key up."""
    return key


class Opaque:
    """A type pydantic cannot describe as JSON Schema."""


def takes_opaque(thing: Opaque) -> str:
    """Use a thing."""
    return "used"


@pytest.mark.parametrize("name", ["bad name!", "a/b", "é", "x" * 129])
def test_a_tool_name_a_provider_would_refuse(name: str) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        tool(name=name)(lookup)


def test_dotted_and_dashed_names_are_fine() -> None:
    assert tool(name="kv.look-up_2")(lookup).wire_name == "kv_look-up_2"


@pytest.mark.parametrize("function", [5, "lookup", None], ids=str)
def test_tool_needs_a_function(function: Any) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        Tool.from_function(function)


def test_a_tool_given_to_tool_again_is_refused_clearly() -> None:
    with pytest.raises(ConfigError, match="already a Tool"):
        tool(tool(lookup))  # type: ignore[arg-type]


def test_a_parameter_type_without_a_json_schema() -> None:
    with pytest.raises(ConfigError, match="thing"):
        tool(takes_opaque)


@pytest.mark.parametrize("timeout_s", [0, -1.0, "5", True, [1]])  # text: a TypeError before
def test_a_timeout_must_be_positive(timeout_s: float) -> None:
    with pytest.raises(ConfigError, match="timeout_s"):
        tool(timeout_s=timeout_s)(lookup)
