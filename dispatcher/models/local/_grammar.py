"""GBNF grammars that constrain decoding: a tiny model can then only emit well-formed calls.

The JSON-Schema-to-GBNF converter is llama-cpp-python's own (imported on first use). A call is
``{"name": <one of the tools>, "arguments": <that tool's parameters>}``: the name comes first,
so the arguments are decoded against the schema of the tool the model picked. Free text is
never put under a grammar: llama.cpp checks every vocabulary entry against the grammar at each
step, which made a free-text rule about ten times slower than plain decoding here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.messages import ForcedTool, ToolChoice, ToolSpec
from dispatcher.models.local._prompt import CALL_CLOSE, CALL_OPEN, MESSAGE_PREFIX

__all__ = ["DECISION_GRAMMAR", "call_grammar", "call_schema", "offered_tools", "schema_grammar"]

# The first step of tool_choice="auto": call a tool, or write a message.
DECISION_GRAMMAR = f'root ::= "{CALL_OPEN}" | "{MESSAGE_PREFIX}"'
# JSON forbids raw control characters inside strings; the converter's `char` rule allows them.
_CHAR_RULE = 'char ::= [^"\\\\]'
_STRICT_CHAR_RULE = 'char ::= [^"\\\\\\x00-\\x1f]'
_ROOT = re.compile(r"^root ::=", re.MULTILINE)


def _gbnf(schema: Mapping[str, Any], root_name: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    grammar = str(json_schema_to_gbnf(json.dumps(schema)))
    grammar = grammar.replace(_CHAR_RULE, _STRICT_CHAR_RULE)
    return _ROOT.sub(f"{root_name} ::=", grammar)


def call_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """The JSON Schema of one call to any of `tools`."""
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "name": {"const": spec.name},
                    "arguments": _arguments_schema(spec.parameters),
                },
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
            for spec in tools
        ]
    }


def _arguments_schema(parameters: Mapping[str, Any]) -> dict[str, Any]:
    schema = dict(parameters)
    # An object with no declared properties would otherwise admit any JSON object.
    if schema.get("type", "object") == "object" and not schema.get("properties"):
        return {"type": "object", "properties": {}, "additionalProperties": False}
    return schema


def offered_tools(tools: Sequence[ToolSpec], choice: ToolChoice) -> Sequence[ToolSpec]:
    """The tools a call may name under `choice`."""
    if isinstance(choice, ForcedTool):
        return [t for t in tools if t.name == choice.name]
    return tools


def call_grammar(tools: Sequence[ToolSpec], *, opened: bool) -> str:
    """One tool call with its tags; `opened`: the opening tag is already in the prompt."""
    opening = "" if opened else CALL_OPEN
    return "\n".join(
        [
            f'root ::= "{opening}\\n" call "\\n{CALL_CLOSE}"',
            _gbnf(call_schema(tools), "call"),
        ]
    )


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """A JSON value matching `schema` (a `response_schema` request)."""
    return _gbnf(schema, "root")
