"""Record an event on the current run's tracer, if a run is being traced."""

from __future__ import annotations

from typing import Any

from dispatcher.trace.events import EventBase
from dispatcher.trace.tracer import current_tracer

__all__ = ["emit_current"]


def emit_current(event_type: type[EventBase], **fields: Any) -> None:
    """Emit under the current parent span; a no-op outside a traced run (e.g. a bare script)."""
    current = current_tracer()
    if current is None:
        return
    tracer, parent_id = current
    tracer.emit(event_type, parent_id=parent_id, **fields)
