"""Progress as it happens for `dispatcher run --live` and `ask`: one line per decision, and
the models' text as they write it when asked (dispatcher/cli/_model_text.py)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from dispatcher._streaming import ModelTextDelta
from dispatcher.approvals import Approver
from dispatcher.cli._model_text import ModelTextView, watched
from dispatcher.cli._terminal import printable
from dispatcher.dispatching import Dispatcher
from dispatcher.runner import RunResult
from dispatcher.trace.events import (
    AgentStarted,
    DetectorVerdictEvent,
    EscalationEvent,
    EventBase,
    ModelCall,
    ModelFallback,
    ModelRetry,
    RouteEvent,
    ToolCallEvent,
)

__all__ = ["progress_line", "run_with_progress"]


def progress_line(event: EventBase) -> str | None:
    """The line to show for an event as it happens (rich markup, printable), or None."""
    line = _markup(event)
    return None if line is None else printable(line)


def _markup(event: EventBase) -> str | None:
    if isinstance(event, RouteEvent) and event.chosen and event.valid:
        return f"[magenta]route[/] {escape(event.router)} → {escape(event.chosen)}"
    if isinstance(event, AgentStarted):
        return f"[cyan]agent[/] {escape(event.agent)} on {escape(event.model)} ({event.role})"
    if isinstance(event, ModelCall):
        return (
            f"  [dim]model {escape(event.model)}: {event.input_tokens} in / "
            f"{event.output_tokens} out, {event.latency_ms:.0f} ms[/]"
        )
    if isinstance(event, ToolCallEvent):
        mark = "ok" if event.ok else f"[red]{escape(event.error_kind or 'error')}[/]"
        return f"  tool {escape(event.tool)} {mark} ({event.duration_ms:.0f} ms)"
    if isinstance(event, DetectorVerdictEvent):
        return f"  [yellow]detector[/] {escape(event.detector)}: {escape(event.verdict)}"
    if isinstance(event, EscalationEvent):
        return (
            f"[yellow]escalation[/] ({event.trigger}) {escape(event.from_model)} → "
            f"{escape(event.to_model or '-')}: {event.outcome}"
        )
    if isinstance(event, ModelRetry):
        return f"  [dim]retry {escape(event.model)} #{event.attempt} in {event.delay_s:.1f} s[/]"
    if isinstance(event, ModelFallback):
        return f"  [yellow]fallback[/] {escape(event.from_model)} → {escape(event.to_model or '-')}"
    return None


async def run_with_progress(
    dispatcher: Dispatcher,
    task: str,
    run_id: str | None,
    console: Console,
    approve: Approver | None = None,
    *,
    model_text: bool = False,
) -> RunResult:
    """`dispatcher.run(task)`, printing each decision while the run goes on and, with
    `model_text`, the models' text as they write it (drawn live on a watched terminal)."""
    view = ModelTextView(console, live=model_text and watched(console))
    with view:
        stream = dispatcher.stream(
            task, run_id=run_id, approve=view.around(approve), model_text=model_text
        )
        async with stream as events:
            async for item in events:
                if isinstance(item, ModelTextDelta):
                    view.text(item)
                elif isinstance(item, EventBase):
                    view.event(item, progress_line(item))
        assert events.result is not None  # a failed run raised from the loop
        view.finish(events.result.answer)
    return events.result
