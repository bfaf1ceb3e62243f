"""Parse JSON a model wrote: every way it can be unreadable is a `json.JSONDecodeError`."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "loads_json", "loads_model_json"]

# Deeper values are refused: arguments land in trace lines, which pydantic writes and reads
# back with a recursion limit (serialization fails near 500 levels, parsing near 200).
MAX_DEPTH = 100


def loads_model_json(raw: str) -> Any:
    """`json.loads`, with nesting deeper than `MAX_DEPTH` (``[[[[...`` from a looping model)
    and integers too long to parse reported as decode errors instead of breaking the trace,
    the parser's recursion or the run."""
    try:
        value = json.loads(raw)
    except RecursionError:
        value = None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        # An integer longer than Python parses (4300 digits) is a bare ValueError.
        raise json.JSONDecodeError(f"a number in it is too long ({exc})", raw, 0) from None
    else:
        if _depth_within(value, MAX_DEPTH):
            return value
    raise json.JSONDecodeError(f"the JSON is nested deeper than {MAX_DEPTH} levels", raw, 0)


def _depth_within(value: Any, limit: int) -> bool:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if isinstance(current, dict | list):
            if depth > limit:
                return False
            children = current.values() if isinstance(current, dict) else current
            pending += [(child, depth + 1) for child in children]
    return True


def loads_json(text: str | bytes) -> Any:
    """`json.loads` whose every failure is a `json.JSONDecodeError`: an integer longer than
    Python parses (4300 digits) is a bare ValueError otherwise. For users' data files, where
    callers catch JSONDecodeError to name the line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:
        source = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("a number is too long to read", source, 0) from None
