"""An event straight to its JSON line, for runs whose only sink is the JSONL file.

Building a pydantic event validates every field and then serializes it: about 12 µs an
event, two or three events a step. Events are made by this package's own code with typed
arguments, and every trace is validated when it is read, so the file-only path writes the
fields as given, in the model's field order with its defaults filled in (the same line the
model would dump, apart from number formatting such as ``5`` for ``5.0``). A missing or
unknown field still raises at once, from the model itself. Setting
``DISPATCHER_VALIDATE_EVENTS=1`` validates every event on the way out too (the test suite
does, so a field of the wrong type fails a test rather than a later read).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import pydantic_core

from dispatcher.trace.events import EventBase

__all__ = ["event_line", "json_safe", "plain", "validating"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_TEMPLATES: dict[type[EventBase], tuple[dict[str, Any], frozenset[str]]] = {}


def validating() -> bool:
    """True when events are validated on the way out (``DISPATCHER_VALIDATE_EVENTS``)."""
    return os.environ.get("DISPATCHER_VALIDATE_EVENTS", "") not in ("", "0", "false")


def _template(event_type: type[EventBase]) -> tuple[dict[str, Any], frozenset[str]]:
    """Every field in order holding its default (None when required), and the required."""
    found = _TEMPLATES.get(event_type)
    if found is None:
        template: dict[str, Any] = {}
        required = set()
        for name, info in event_type.model_fields.items():
            if info.is_required():
                template[name] = None
                required.add(name)
            else:
                # A factory's value is shared by every line: it is only ever serialized.
                template[name] = info.get_default(call_default_factory=True)
        found = _TEMPLATES[event_type] = (template, frozenset(required))
    return found


def event_line(event_type: type[EventBase], fields: dict[str, Any]) -> bytes:
    """The JSON line of an event of `event_type` with these fields (no trailing newline)."""
    template, required = _template(event_type)
    data = template.copy()
    data.update(fields)
    if len(data) != len(template) or not required <= fields.keys():
        event_type(**fields)  # unknown or missing fields: the model's own error says which
        raise AssertionError("unreachable: the model accepted fields the template refused")
    try:
        return pydantic_core.to_json(data, fallback=plain)
    except pydantic_core.PydanticSerializationError:
        # Bytes that are not UTF-8 in a free-form field (signals, a gate's evidence).
        return pydantic_core.to_json(json_safe(data))


def plain(value: Any) -> Any:
    """A value the serializer does not know, as JSON data. Typed fields are checked when the
    event is made; this sees the free-form ones (signals, evidence) that user code fills:
    a numpy value becomes its list or number, anything else its repr."""
    if isinstance(value, Mapping):  # e.g. a read-only mappingproxy of signals
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        try:
            return tolist()
        except Exception:  # any failure: fall back to the repr
            pass
    return repr(value)


def json_safe(value: Any) -> Any:
    """`value` with every part JSON can hold as is (the slow path, after a failed write)."""
    if isinstance(value, str):
        # A lone surrogate (os.listdir's text for a name that is not UTF-8) has no UTF-8.
        return _SURROGATE.sub("\ufffd", value)
    if value is None or isinstance(value, int | float | bool):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {json_safe(str(key)): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if hasattr(value, "model_dump"):  # a pydantic event itself
        return json_safe(value.model_dump())
    converted = plain(value)
    return converted if isinstance(converted, str) else json_safe(converted)
