"""One run as a self-contained HTML page: summary, escalation episodes, detectors, timeline tree.

A rendering of the JSONL trace and nothing else. Every text from the trace is escaped (model
and tool output are untrusted) and the page's Content-Security-Policy forbids any fetch, so it
opens offline and cannot call out. Long runs stay readable: the timeline filters by kind, by
"problems only" and by text, and agents fold.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from dispatcher.trace._html_assets import CSP, ERROR_HOOK, SCRIPT, STYLE
from dispatcher.trace._html_rows import clip, describe, pretty, seconds, span_start, usd
from dispatcher.trace.events import (
    AgentFinished,
    AgentStarted,
    DetectorVerdictEvent,
    EscalationEvent,
    Event,
    ModelCall,
    RunFinished,
    RunStarted,
)
from dispatcher.trace.render import _what_happened_next

__all__ = ["render_html"]

_FILTERS = (
    ("model_call", "model calls"),
    ("tool_call", "tool calls"),
    ("route", "routes"),
    ("detector", "detector verdicts"),
    ("escalation", "escalations"),
    ("approval", "approvals"),
    ("feedback", "feedback"),
    ("note", "notes, retries, fallbacks"),
)


@dataclass(frozen=True)
class _Clock:
    """Places events on the run's time axis (percent of the run's duration)."""

    start: float
    total: float

    @classmethod
    def of(cls, events: Sequence[Event]) -> _Clock:
        starts = [span_start(e) for e in events] or [0.0]
        ends = [seconds(e.ts) for e in events] or [0.0]
        start = min(starts)
        return cls(start, max(max(ends) - start, 1e-6))

    def bar(self, begin: float, end: float) -> str:
        left = max(0.0, (begin - self.start) / self.total * 100)
        width = max(0.0, (end - begin) / self.total * 100)
        return f'<div class="bar"><span style="left:{left:.2f}%;width:{width:.2f}%"></span></div>'

    def offset(self, moment: float) -> str:
        return f"+{moment - self.start:.3f}s"


class _Page:
    """Builds the page from a run's events (one instance per rendering)."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events
        self.clock = _Clock.of(events)
        self.after = _what_happened_next(events)
        self.finished_agents = {
            e.parent_id: e for e in events if isinstance(e, AgentFinished) and e.parent_id
        }
        # Each model call is a step of the agent (or episode) it runs under: #1, #2, ...
        counts: dict[str | None, int] = defaultdict(int)
        self.step_of: dict[str, int] = {}
        for event in events:
            if isinstance(event, ModelCall):
                counts[event.parent_id] += 1
                self.step_of[event.span_id] = counts[event.parent_id]
        owners = {e.span_id for e in events if isinstance(e, AgentStarted | EscalationEvent)}
        self.children: dict[str | None, list[Event]] = defaultdict(list)
        self._drawn: set[str] = set()  # spans whose children are drawn already
        for event in events:
            if isinstance(event, RunStarted | RunFinished | AgentFinished):
                continue
            self.children[event.parent_id if event.parent_id in owners else None].append(event)

    def render(self) -> str:
        started = next((e for e in self.events if isinstance(e, RunStarted)), None)
        finished = next((e for e in self.events if isinstance(e, RunFinished)), None)
        run_id = self.events[0].run_id if self.events else "(empty trace)"
        body = [
            self._header(run_id, started, finished),
            self._episodes(),
            self._detectors(),
            self._costs(finished),
            self._timeline(),
        ]
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>dispatcher run {escape(run_id)}</title>"
            f"<script>{ERROR_HOOK}</script><style>{STYLE}</style></head><body>"
            + "".join(body)
            + f"<script>{SCRIPT}</script></body></html>\n"
        )

    def _header(self, run_id: str, started: RunStarted | None, finished: RunFinished | None) -> str:
        parts = [f'<h1>run <span class="mono">{escape(run_id)}</span></h1>']
        if started is not None:
            parts.append(
                f'<div class="dim">{escape(started.ts)} · entry {escape(started.entry or "?")}'
                f" · config {escape(started.config_digest or '-')}</div>"
                f"<h2>Task</h2><pre>{escape(started.task)}</pre>"
            )
        if finished is None:
            parts.append(
                '<p><span class="badge bad">incomplete</span> no run_finished: the run was '
                "killed or is still running</p>"
            )
            return "".join(parts)
        ok = finished.status == "ok"
        ratio = (
            finished.cost_usd / finished.counterfactual_cost_usd
            if finished.cost_usd is not None and finished.counterfactual_cost_usd
            else None
        )
        saving = (
            f"{ratio:.0%} of the all-strong cost"
            if ratio is not None
            else "all-strong cost unknown"
        )
        width = min(100.0, (ratio or 0.0) * 100)
        cards = [
            f'<div class="card" id="cost"><span class="dim">cost vs all-strong</span>'
            f"<b>{usd(finished.cost_usd)} vs {usd(finished.counterfactual_cost_usd)}</b>"
            f'<div class="costbar"><span style="width:{width:.1f}%"></span></div>'
            f'<span class="dim">{saving}</span></div>',
            _card("escalations", str(finished.escalations)),
            _card("model calls", str(finished.model_calls)),
            _card("tool calls", str(finished.tool_calls)),
            _card("tokens in / out", f"{finished.input_tokens:,} / {finished.output_tokens:,}"),
            _card("duration", f"{finished.duration_ms / 1000:.2f}s"),
        ]
        parts.append(
            f'<p><span class="badge {"ok" if ok else "bad"}">{escape(finished.status)}</span>'
            + (
                f" unpriced models: {escape(', '.join(finished.unpriced_models))}"
                if finished.unpriced_models
                else ""
            )
            + "</p>"
            + f'<div class="cards">{"".join(cards)}</div>'
        )
        if finished.answer:
            parts.append(f"<h2>Answer</h2><pre>{escape(finished.answer)}</pre>")
        if finished.error:
            parts.append(f"<h2>Error</h2><pre>{escape(pretty(finished.error))}</pre>")
        return "".join(parts)

    def _episodes(self) -> str:
        episodes = [e for e in self.events if isinstance(e, EscalationEvent)]
        if not episodes:
            return '<h2>Escalation episodes</h2><p class="dim">none: no model escalated.</p>'
        cards = []
        for number, event in enumerate(episodes, start=1):
            rows = [("why", event.reason)]
            if event.question:
                rows.append(("question", event.question))
            if event.refused_because:
                rows.append(("refused", event.refused_because))
            if event.guidance:
                rows.append(("guidance", event.guidance))
            if event.span_id in self.after:
                rows.append(("then", self.after[event.span_id]))
            facts = (
                f"{escape(event.agent or '?')}: {escape(event.from_model)} → "
                f"{escape(event.to_model or '-')} · trigger <b>{escape(event.trigger)}</b> · "
                f"mode {escape(event.mode or '-')} · outcome <b>{escape(event.outcome)}</b> · "
                f"cost {usd(event.cost_usd)} · depth {event.depth}"
            )
            details = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in rows)
            cards.append(
                f'<div class="episode" id="episode-{number}"><h3>⬆ Escalation {number} '
                f'<a href="#ev-{escape(event.span_id)}" data-jump="ev-{escape(event.span_id)}">'
                f"(in the timeline)</a></h3><div>{facts}</div><dl>{details}</dl></div>"
            )
        return f"<h2>Escalation episodes ({len(episodes)})</h2>{''.join(cards)}"

    def _detectors(self) -> str:
        verdicts = [e for e in self.events if isinstance(e, DetectorVerdictEvent)]
        if not verdicts:
            return '<h2>Detector verdicts</h2><p class="dim">none: no detector tripped.</p>'
        rows = "".join(
            f"<tr><td>{v.step}</td><td>{escape(v.agent)}</td><td>{escape(v.detector)}</td>"
            f"<td>{escape(v.verdict)}</td><td>{escape(v.action)}</td>"
            f'<td class="mono">{escape(clip(json.dumps(v.evidence, default=str), 220))}</td></tr>'
            for v in verdicts
        )
        return (
            f"<h2>Detector verdicts ({len(verdicts)})</h2><table><tr><th>step</th><th>agent</th>"
            f"<th>detector</th><th>verdict</th><th>action</th><th>evidence</th></tr>{rows}</table>"
        )

    def _costs(self, finished: RunFinished | None) -> str:
        by_model: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
        for event in self.events:
            if isinstance(event, ModelCall):
                row = by_model[f"{event.model} ({event.tier or '-'})"]
                row[0] += 1
                row[1] += event.input_tokens
                row[2] += event.output_tokens
                row[3] += event.cost_usd or 0.0
        if not by_model:
            return ""
        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{int(n)}</td><td>{int(i):,}</td><td>{int(o):,}</td>"
            f"<td>{usd(cost)}</td></tr>"
            for name, (n, i, o, cost) in sorted(by_model.items())
        )
        return (
            "<h2>Cost by model</h2><table><tr><th>model (tier)</th><th>calls</th>"
            f"<th>tokens in</th><th>tokens out</th><th>cost</th></tr>{rows}</table>"
        )

    def _timeline(self) -> str:
        boxes = "".join(
            f'<label><input type="checkbox" data-filter="{kind}" checked> {label}</label>'
            for kind, label in _FILTERS
        )
        controls = (
            f'<div class="controls">{boxes}<label><input type="checkbox" id="only-problems">'
            " problems only</label>"
            '<input type="search" id="search" placeholder="search the timeline">'
            '<button type="button" id="expand">expand all</button>'
            '<button type="button" id="collapse">collapse all</button>'
            '<span class="dim"><span id="shown">0</span> rows shown</span></div>'
        )
        return f'<h2>Timeline</h2>{controls}<div class="tree">{self._nodes(None)}</div>'

    def _nodes(self, parent: str | None) -> str:
        if parent is not None:
            # Spans sharing an id (a trace not ours) would draw a span inside itself forever.
            if parent in self._drawn:
                return ""
            self._drawn.add(parent)
        return "".join(self._node(event) for event in self.children.get(parent, []))

    def _node(self, event: Event) -> str:
        if isinstance(event, AgentStarted):
            return self._agent(event)
        kind, label, problem, detail = describe(event)
        if event.span_id in self.step_of:
            label = f'<span class="dim mono">#{self.step_of[event.span_id]}</span> {label}'
        begin, end = span_start(event), seconds(event.ts)
        if isinstance(event, EscalationEvent):
            inner = self.children.get(event.span_id, [])
            begin = min([begin, *(span_start(e) for e in inner)])
            if event.span_id in self.after:
                detail += f"<div><b>then:</b> {escape(self.after[event.span_id])}</div>"
        row = self._row(kind, label, begin, end, problem)
        sid = escape(event.span_id)
        attrs = f'id="ev-{sid}" data-kind="{kind}" data-problem="{int(problem)}"'
        if isinstance(event, EscalationEvent):
            return (
                f'<details class="node k-{kind}" open {attrs}><summary>{row}</summary>'
                f'<div class="detail">{detail}</div>{self._nodes(event.span_id)}</details>'
            )
        if not detail:
            return f'<div class="leaf k-{kind}" {attrs}>{row}</div>'
        return (
            f'<details class="leaf k-{kind}" {attrs}><summary>{row}</summary>'
            f'<div class="detail">{detail}</div></details>'
        )

    def _agent(self, event: AgentStarted) -> str:
        finished = self.finished_agents.get(event.span_id)
        end = seconds(finished.ts) if finished else seconds(self.events[-1].ts)
        status = finished.status if finished else "unfinished"
        cost = f" · {usd(finished.cost_usd)}" if finished and finished.cost_usd is not None else ""
        turns = f" · {finished.turns} turns" if finished else ""
        problem = status != "ok"
        label = (
            f'<span class="agent-head">agent {escape(event.agent)}</span> '
            f'<span class="dim">{escape(event.model)} · {escape(event.tier or "-")} · '
            f"{escape(event.role)} · {escape(status)}{turns}{cost} · "
            f"{self.clock.offset(seconds(event.ts))}</span>"
        )
        row = self._row("agent", label, seconds(event.ts), end, problem)
        return (
            f'<details class="node k-agent" open id="ev-{escape(event.span_id)}" '
            f'data-kind="agent" data-problem="{int(problem)}"><summary>{row}</summary>'
            f"{self._nodes(event.span_id)}</details>"
        )

    def _row(self, kind: str, label: str, begin: float, end: float, problem: bool) -> str:
        css = f"row k-{kind}" + (" err" if problem else "")
        return (
            f'<div class="{css}"><div class="lbl">{label}</div>{self.clock.bar(begin, end)}</div>'
        )


def _card(title: str, value: str) -> str:
    return f'<div class="card"><span class="dim">{title}</span><b>{escape(value)}</b></div>'


def render_html(events: Sequence[Event]) -> str:
    """The page for one run's events (see the module docstring)."""
    return _Page(events).render()
