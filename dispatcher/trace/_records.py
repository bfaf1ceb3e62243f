"""Events kept in memory as compact records, rebuilt into event objects only when asked for.

A run holds every event it emitted (for `RunResult.events` and the partial trace of a
`RunError`). A pydantic event object costs about 3 KB; its field values in a tuple, with the
set of explicitly given fields shared between events, cost a tenth of that. Rebuilding uses
pydantic's pickle protocol (no validation: the values were validated when the event was made).
"""

from __future__ import annotations

from typing import Any

from dispatcher.trace.events import EventBase

__all__ = ["EventRecord", "pack", "unpack"]

EventRecord = tuple[type[EventBase], tuple[Any, ...], frozenset[str]]

_NAMES: dict[type[EventBase], tuple[str, ...]] = {}
_FIELD_SETS: dict[frozenset[str], frozenset[str]] = {}


def pack(event: EventBase) -> EventRecord:
    """The event's class, its field values in order, and which fields were given."""
    values = event.__dict__
    kind = type(event)
    if kind not in _NAMES:
        _NAMES[kind] = tuple(values)
    given = frozenset(event.model_fields_set)
    return kind, tuple(values.values()), _FIELD_SETS.setdefault(given, given)


def unpack(record: EventRecord) -> EventBase:
    """The event object again, equal to the one that was packed."""
    kind, values, given = record
    event = kind.__new__(kind)
    event.__setstate__(
        {
            "__dict__": dict(zip(_NAMES[kind], values, strict=True)),
            "__pydantic_fields_set__": set(given),
            "__pydantic_extra__": None,
            "__pydantic_private__": None,
        }
    )
    return event
