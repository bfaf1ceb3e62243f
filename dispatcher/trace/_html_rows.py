"""One timeline row of the HTML page per trace event: its kind, label and detail (escaped)."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any

from dispatcher.trace.events import (
    ApprovalEvent,
    DetectorVerdictEvent,
    EscalationEvent,
    Event,
    FeedbackEvent,
    ModelCall,
    ModelFallback,
    ModelRetry,
    Note,
    RouteEvent,
    ToolCallEvent,
)

__all__ = ["clip", "describe", "pretty", "seconds", "span_start", "usd"]


def seconds(ts: str) -> float:
    """An event's timestamp as seconds since the epoch."""
    return datetime.fromisoformat(ts).timestamp()


def usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:.4f}"


def clip(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pretty(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, default=str)


def span_start(event: Event) -> float:
    """When the work an event reports began: calls are written when they end."""
    end = seconds(event.ts)
    if isinstance(event, ModelCall):
        return end - event.latency_ms / 1000
    if isinstance(event, ToolCallEvent):
        return end - event.duration_ms / 1000
    return end


def describe(event: Event) -> tuple[str, str, bool, str]:
    """(filter kind, one-line label as HTML, is it a problem, expandable detail as HTML)."""
    if isinstance(event, ModelCall):
        tools = f" → {escape(', '.join(event.tool_calls))}" if event.tool_calls else ""
        retries = f" · {event.retries} retries" if event.retries else ""
        label = (
            f'<span class="tag">chat</span> {escape(event.model)} '
            f'<span class="dim">{escape(event.agent)} · in {event.input_tokens:,} · out '
            f"{event.output_tokens:,} · {usd(event.cost_usd)} · {event.latency_ms:.0f} ms"
            f"{retries}</span>{tools}"
        )
        detail = f"<pre>{escape(event.text)}</pre>" if event.text else ""
        return "model_call", label, event.retries > 0, detail
    if isinstance(event, ToolCallEvent):
        mark = "✓" if event.ok else "✗"
        error = f" · {escape(event.error_kind or 'error')}" if not event.ok else ""
        label = (
            f'<span class="tag">{mark} tool</span> {escape(event.tool)} <span class="dim">'
            f"{event.duration_ms:.1f} ms{' · cached' if event.cached else ''}{error}</span>"
        )
        detail = f'<div class="dim">arguments</div><pre>{escape(pretty(event.arguments))}</pre>'
        detail += f'<div class="dim">result</div><pre>{escape(event.error or event.output)}</pre>'
        return "tool_call", label, not event.ok, detail
    if isinstance(event, RouteEvent):
        score = f" · score {event.score:.3f}" if event.score is not None else ""
        threshold = f" · threshold {event.threshold:.3f}" if event.threshold is not None else ""
        state = "" if event.valid else f" · invalid (attempt {event.attempt})"
        label = (
            f'<span class="tag">route</span> [{escape(event.router)}] → '
            f'{escape(event.chosen or "(unsure)")}<span class="dim">{score}{threshold}{state} · '
            f"{escape(clip(event.reason, 80))}</span>"
        )
        detail = f"<pre>{escape(pretty(event.arguments))}</pre>" if event.arguments else ""
        return "route", label, not event.valid, detail
    if isinstance(event, DetectorVerdictEvent):
        label = (
            f'<span class="tag">⚠ detector</span> {escape(event.detector)}: '
            f'{escape(event.verdict)} <span class="dim">step {event.step} → '
            f"{escape(event.action)}</span>"
        )
        return "detector", label, True, f"<pre>{escape(pretty(event.evidence))}</pre>"
    if isinstance(event, EscalationEvent):
        label = (
            f'<span class="tag">⬆ ESCALATION</span> {escape(event.trigger)} · '
            f"{escape(event.from_model)} → {escape(event.to_model or '-')} · mode "
            f"{escape(event.mode or '-')} · {escape(event.outcome)} · {usd(event.cost_usd)}"
        )
        detail = f"<div><b>why:</b> {escape(event.reason)}</div>"
        if event.refused_because:
            detail += f"<div><b>refused:</b> {escape(event.refused_because)}</div>"
        if event.guidance:
            detail += f"<div><b>guidance:</b> {escape(event.guidance)}</div>"
        return "escalation", label, True, detail
    if isinstance(event, ModelRetry):
        label = (
            f'<span class="tag">↻ retry</span> {escape(event.model)} attempt {event.attempt} '
            f'<span class="dim">after {event.delay_s:.2f}s · '
            f"{escape(str(event.error.get('type')))}</span>"
        )
        return "note", label, True, f"<pre>{escape(pretty(event.error))}</pre>"
    if isinstance(event, ModelFallback):
        label = (
            f'<span class="tag">↪ fallback</span> {escape(event.from_model)} → '
            f'{escape(event.to_model or "-")} <span class="dim">{escape(event.reason)}</span>'
        )
        return "note", label, True, ""
    if isinstance(event, ApprovalEvent):
        return _approval(event)
    if isinstance(event, FeedbackEvent):
        label = (
            f'<span class="tag">feedback</span> [{escape(event.router)}] reward '
            f'{event.reward:g} <span class="dim">{escape(", ".join(event.routes) or "-")} · '
            f"from {escape(event.source)}</span>"
        )
        return "feedback", label, False, ""
    if isinstance(event, Note):
        label = (
            f'<span class="tag">note</span> <span class="dim">{escape(clip(event.message))}</span>'
        )
        return "note", label, False, f"<pre>{escape(event.message)}</pre>"
    return "note", escape(event.kind), False, ""


_DECIDED = {"approve": "approved", "deny": "denied", "edit": "edited"}


def _approval(event: ApprovalEvent) -> tuple[str, str, bool, str]:
    """An approval asked for, or its decision; a denial (or a timeout) is a problem."""
    if event.stage == "requested":
        what = "asked"
        problem = False
    else:
        what = _DECIDED.get(event.decision or "", "decided")
        by = f" by {event.decided_by.replace('_', ' ')}" if event.decided_by else ""
        what += f"{by} after {event.wait_ms / 1000:.1f} s"
        problem = event.decision == "deny"
    label = (
        f'<span class="tag">✋ approval</span> {escape(event.tool)} <span class="dim">'
        f"{escape(event.agent)} · {escape(what)}</span>"
    )
    detail = f'<div class="dim">arguments</div><pre>{escape(pretty(event.arguments))}</pre>'
    if event.edited_arguments is not None:
        detail += (
            f'<div class="dim">edited to</div><pre>{escape(pretty(event.edited_arguments))}</pre>'
        )
    if event.reason:
        detail += f"<div><b>reason:</b> {escape(event.reason)}</div>"
    return "approval", label, problem, detail
