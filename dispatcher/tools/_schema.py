"""JSON Schema for a tool, derived from a Python signature and its docstring."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.fields import FieldInfo

__all__ = ["SignatureSchema", "parse_docstring"]

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters)\s*:\s*$")
_ARG_LINE = re.compile(r"^\s+(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_PRIMITIVES = (str, int, float, bool)


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and per-argument descriptions."""
    if not doc:
        return "", {}
    description: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    for line in inspect.cleandoc(doc).splitlines():
        if _ARGS_HEADER.match(line):
            section, current = "args", None
            continue
        if section == "args":
            if line and not line[0].isspace():
                section = "other" if line.rstrip().endswith(":") else None
                if section is None:
                    description.append(line)
                continue
            match = _ARG_LINE.match(line)
            if match and len(line) - len(line.lstrip()) <= 4:
                current = match.group(1).lstrip("*")
                params[current] = match.group(2).strip()
            elif current is not None and line.strip():
                params[current] = f"{params[current]} {line.strip()}"
            continue
        if section == "other":
            continue
        description.append(line)
    return "\n".join(description).strip(), params


class SignatureSchema:
    """The argument model of a function: its JSON Schema and how to turn JSON into kwargs."""

    def __init__(self, func: Callable[..., Any], *, skip: frozenset[str] = frozenset()) -> None:
        signature = inspect.signature(func)
        hints = get_type_hints(func, include_extras=True)
        _, param_docs = parse_docstring(func.__doc__)
        fields: dict[str, Any] = {}
        self.needs_coercion = False
        for name, param in signature.parameters.items():
            if name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = hints.get(name, Any)
            if annotation not in _PRIMITIVES:
                self.needs_coercion = True
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[name] = (
                annotation,
                FieldInfo(default=default, description=param_docs.get(name)),
            )
        self.model: type[BaseModel] = create_model(
            f"{func.__name__}_arguments",
            __config__=ConfigDict(extra="forbid"),
            **fields,
        )
        schema = self.model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        schema.setdefault("properties", {})
        schema["additionalProperties"] = False
        self.json_schema: dict[str, Any] = schema

    def to_kwargs(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Arguments already checked against the JSON Schema, converted to Python values."""
        if not self.needs_coercion:
            return arguments
        validated = self.model.model_validate(arguments)
        return {name: getattr(validated, name) for name in validated.model_fields_set} | {
            name: getattr(validated, name)
            for name in type(validated).model_fields
            if name not in validated.model_fields_set
        }
