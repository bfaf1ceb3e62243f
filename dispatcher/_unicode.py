"""Text that UTF-8 can carry: JSON may escape a lone surrogate ("\\ud800"), which is no
character, and a trace line, a request body or an answer holding one cannot be encoded."""

from __future__ import annotations

import json
import re
from typing import Any

from dispatcher._model_json import loads_model_json

__all__ = ["is_encodable", "scrub_arguments", "scrub_text"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def is_encodable(text: str) -> bool:
    """False when `text` holds a lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def scrub_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (the same object when it has none)."""
    if is_encodable(text):
        return text
    return _SURROGATE.sub("\ufffd", text)


def scrub_arguments(raw: str) -> str:
    """Tool-call arguments (JSON text) whose strings, once parsed, hold no lone surrogate."""
    if "\\ud" not in raw.lower() and is_encodable(raw):
        return raw  # the common case: no escape that could decode to a surrogate
    try:
        value = loads_model_json(raw)
    except json.JSONDecodeError:
        return scrub_text(raw)  # invalid JSON: the executor reports it to the model
    cleaned = _scrub_value(value)
    return raw if cleaned == value else json.dumps(cleaned, ensure_ascii=False)


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [_scrub_value(v) for v in value]
    if isinstance(value, dict):
        return {scrub_text(k): _scrub_value(v) for k, v in value.items()}
    return value
