"""Validated settings shared by the runs that use the same configuration.

Every run turned its registry's `detectors:` and `escalation:` mappings into pydantic models
again: tens of microseconds and about 3 KB per live run for objects that were the same each
time. Runs now share one validated instance per distinct configuration (by content, so a
mapping edited between runs is validated afresh). The shared instances are read-only by
convention: nothing in a run assigns to its settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["shared_settings"]

T = TypeVar("T")

# Distinct configurations in one process are few; the bound only stops a pathological caller
# (a new mapping per run) from growing the memo without end.
_LIMIT = 256
_memo: dict[tuple[str, str], Any] = {}


def _content_key(mapping: Mapping[str, Any] | str | None) -> str:
    if not mapping:
        return ""
    return json.dumps(mapping, sort_keys=True, default=repr)


def shared_settings(
    kind: str, mappings: tuple[Mapping[str, Any] | str | None, ...], build: Callable[[], T]
) -> T:
    """The `kind` settings built from `mappings`, built once per distinct content."""
    key = (kind, "\x00".join(_content_key(m) for m in mappings))
    found = _memo.get(key)
    if found is None:
        found = build()  # a ConfigError propagates and nothing is remembered
        if len(_memo) >= _LIMIT:
            _memo.clear()
        _memo[key] = found
    return found
