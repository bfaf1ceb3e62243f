"""A fast "certainly valid" check for the simple JSON Schemas that typed functions produce.

jsonschema takes tens of microseconds even for ``{"query": "x"}``; on the hot path of every
tool call that is most of the framework's own time. `compile_fast_check` turns a schema made
only of the keywords below into a plain Python predicate that returns True only when
jsonschema (Draft 2020-12, no format checking) would report no error. False means "not sure":
the caller then runs jsonschema, which also writes the error messages. A schema with any other
keyword gets no fast check at all, so the exact schema that was sent is always what decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["FastCheck", "compile_fast_check"]

FastCheck = Callable[[Any], bool]

# Keywords that never affect validity (format is an annotation unless a checker is configured,
# which `Tool` does not do, but it is left to jsonschema anyway to stay on the safe side).
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
_STRUCTURE = frozenset(
    {"type", "enum", "const", "properties", "required", "additionalProperties", "items", "anyOf"}
)


def _is_int(value: Any) -> bool:
    # Exact types only: bool is an int to Python but not to JSON Schema; an integral float
    # (1.0) is an integer to jsonschema, which the slow path decides.
    return type(value) is int


_TYPES: dict[str, FastCheck] = {
    "string": lambda v: type(v) is str,
    "integer": _is_int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
}


class _Unsupported(Exception):
    """The schema uses something only jsonschema should judge."""


def compile_fast_check(schema: Any) -> FastCheck | None:
    """The predicate for `schema`, or None when it uses anything this module does not know."""
    try:
        return _compile(schema)
    except _Unsupported:
        return None


def _compile(schema: Any) -> FastCheck:
    if not isinstance(schema, Mapping) or (set(schema) - _ANNOTATIONS) - _STRUCTURE:
        raise _Unsupported
    checks: list[FastCheck] = []
    for build in (
        _type_check,
        _enum_check,
        _const_check,
        _any_of_check,
        _items_check,
        _object_check,
    ):
        check = build(schema)
        if check is not None:
            checks.append(check)
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:  # the usual {"type": "object", "properties": ...}: no generator
        first, second = checks
        return lambda value: first(value) and second(value)
    return lambda value: all(check(value) for check in checks)


# Each builder returns a check, or None when its keywords are absent from the schema.
_Built = FastCheck | None


def _type_check(schema: Mapping[str, Any]) -> _Built:
    if "type" not in schema:
        return None
    wanted = schema["type"]
    names = [wanted] if isinstance(wanted, str) else wanted
    if not isinstance(names, list) or not all(n in _TYPES for n in names):
        raise _Unsupported
    if len(names) == 1:
        return _TYPES[names[0]]
    alternatives = [_TYPES[n] for n in names]
    return lambda value: any(check(value) for check in alternatives)


def _enum_check(schema: Mapping[str, Any]) -> _Built:
    if "enum" not in schema:
        return None
    values = schema["enum"]
    if not isinstance(values, list):
        raise _Unsupported
    # Only strings: Python's True == 1 would disagree with JSON Schema's equality.
    allowed = frozenset(v for v in values if isinstance(v, str))
    return lambda value: type(value) is str and value in allowed


def _const_check(schema: Mapping[str, Any]) -> _Built:
    if "const" not in schema:
        return None
    constant = schema["const"]
    if not isinstance(constant, str):
        raise _Unsupported
    return lambda value: type(value) is str and value == constant


def _any_of_check(schema: Mapping[str, Any]) -> _Built:
    if "anyOf" not in schema:
        return None
    branches = schema["anyOf"]
    if not isinstance(branches, list) or not branches:
        raise _Unsupported
    checks = [_compile(branch) for branch in branches]
    return lambda value: any(check(value) for check in checks)


def _items_check(schema: Mapping[str, Any]) -> _Built:
    if "items" not in schema:
        return None
    item = _compile(schema["items"])
    return lambda value: type(value) is not list or all(item(v) for v in value)


def _object_check(schema: Mapping[str, Any]) -> _Built:
    if not ({"properties", "required", "additionalProperties"} & set(schema)):
        return None
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        raise _Unsupported
    if extra not in (True, False) or not all(isinstance(r, str) for r in required):
        raise _Unsupported
    checks = {name: _compile(sub) for name, sub in properties.items()}
    needed = tuple(required)
    closed = extra is False

    def check_object(value: Any) -> bool:
        if type(value) is not dict:
            return True  # these keywords only constrain objects
        for name in needed:
            if name not in value:
                return False
        for name, item in value.items():
            check = checks.get(name)
            if check is None:
                if closed:
                    return False
            elif not check(item):
                return False
        return True

    return check_object
