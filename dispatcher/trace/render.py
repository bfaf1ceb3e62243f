"""Render a run's events as a rich tree that puts escalation episodes up front."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from rich.text import Text
from rich.tree import Tree

from dispatcher.trace.events import (
    AgentFinished,
    AgentStarted,
    ApprovalEvent,
    DetectorVerdictEvent,
    EscalationEvent,
    Event,
    ModelCall,
    ModelFallback,
    ModelRetry,
    Note,
    RouteEvent,
    RunFinished,
    RunStarted,
    ToolCallEvent,
)

__all__ = ["render_run"]


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:.4f}"


def _clip(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(event: Event, after: dict[str, str]) -> Text:
    if isinstance(event, AgentStarted):
        tier = f", {event.tier}" if event.tier else ""
        return Text.assemble(
            ("agent ", "bold"), (event.agent, "bold cyan"), f" ({event.model}{tier}, {event.role})"
        )
    if isinstance(event, ModelCall):
        tools = f" → {', '.join(event.tool_calls)}" if event.tool_calls else ""
        retries = f" retries={event.retries}" if event.retries else ""
        return Text(
            f"model_call {event.model} in={event.input_tokens} out={event.output_tokens} "
            f"{_usd(event.cost_usd)} {event.latency_ms:.0f}ms{retries}{tools}",
            style="dim",
        )
    if isinstance(event, ToolCallEvent):
        mark, style = ("✓", "green") if event.ok else ("✗", "red")
        detail = "" if event.ok else f" {event.error_kind}: {_clip(event.error or '', 80)}"
        cached = " (cached)" if event.cached else ""
        source = f" [{event.source}]" if event.source else ""
        return Text(
            f"{mark} tool {event.tool}{source} {event.duration_ms:.1f}ms{cached}{detail}",
            style=style,
        )
    if isinstance(event, RouteEvent):
        if not event.valid:
            return Text(
                f"✗ route invalid (attempt {event.attempt}): {_clip(event.reason)}", style="red"
            )
        score = f" score={event.score:.3f}" if event.score is not None else ""
        threshold = f" threshold={event.threshold:.3f}" if event.threshold is not None else ""
        chosen = event.chosen or "(unsure)"
        return Text(
            f"route [{event.router}] → {chosen}{score}{threshold} {_clip(event.reason, 60)}",
            style="magenta",
        )
    if isinstance(event, DetectorVerdictEvent):
        evidence = ", ".join(f"{k}={v}" for k, v in list(event.evidence.items())[:4])
        return Text(
            f"⚠ detector {event.detector}: {event.verdict} at step {event.step} → "
            f"{event.action} ({_clip(evidence, 80)})",
            style="yellow",
        )
    if isinstance(event, EscalationEvent):
        text = Text.assemble(
            ("⬆ ESCALATION ", "bold reverse yellow"),
            (f" {event.trigger} ", "bold"),
            f"{event.from_model} → {event.to_model} mode={event.mode} outcome={event.outcome} ",
            ("cost " + _usd(event.cost_usd), "bold"),
        )
        text.append(f"\n   why: {_clip(event.reason, 120)}")
        if event.refused_because:
            text.append(f"\n   refused: {event.refused_because}", style="red")
        if event.guidance:
            text.append(f"\n   guidance: {_clip(event.guidance, 160)}")
        if event.back_to_back:
            text.append(f"\n   back-to-back escalations so far: {event.back_to_back}")
        if event.span_id in after:
            text.append(f"\n   then: {after[event.span_id]}")
        return text
    if isinstance(event, AgentFinished):
        style = "green" if event.status == "ok" else "red"
        cost = f" {_usd(event.cost_usd)}" if event.cost_usd is not None else ""
        return Text(
            f"finished {event.agent}: {event.status} in {event.turns} turns{cost}", style=style
        )
    if isinstance(event, ModelRetry):
        return Text(
            f"↻ retry {event.model} attempt {event.attempt} after {event.delay_s:.2f}s "
            f"({event.error.get('type')})",
            style="yellow",
        )
    if isinstance(event, ModelFallback):
        return Text(
            f"↪ fallback {event.from_model} → {event.to_model}: {event.reason}", style="yellow"
        )
    if isinstance(event, ApprovalEvent):
        if event.stage == "requested":
            return Text(
                f"? approval {event.tool} requested: {_clip(str(event.arguments), 80)}",
                style="yellow",
            )
        reason = f" ({_clip(event.reason, 80)})" if event.reason else ""
        edited = f" → {_clip(str(event.edited_arguments), 80)}" if event.edited_arguments else ""
        style = "green" if event.decision in ("approve", "edit") else "red"
        return Text(
            f"{'✓' if style == 'green' else '✗'} approval {event.tool}: {event.decision} by "
            f"{(event.decided_by or '').replace('_', ' ')}{reason}{edited} "
            f"after {event.wait_ms:.0f}ms",
            style=style,
        )
    if isinstance(event, Note):
        return Text(f"note: {_clip(event.message, 120)}", style="italic")
    return Text(event.kind)


def _what_happened_next(events: Sequence[Event]) -> dict[str, str]:
    """For each escalation: what its agent did afterwards, up to the agent's end."""
    summary: dict[str, str] = {}
    for index, event in enumerate(events):
        if not isinstance(event, EscalationEvent):
            continue
        calls = tools = 0
        end = "the run ended"
        for later in events[index + 1 :]:
            if isinstance(later, ModelCall) and later.agent == event.agent:
                calls += 1
            elif isinstance(later, ToolCallEvent) and later.agent == event.agent:
                tools += 1
            elif isinstance(later, AgentFinished) and later.agent == event.agent:
                end = f"{event.agent} finished {later.status}"
                break
        if event.outcome == "took_over":
            summary[event.span_id] = f"the overwatch finished the task; {end}"
        else:
            summary[event.span_id] = (
                f"{event.agent} made {calls} more model call(s), {tools} tool call(s); {end}"
            )
    return summary


def render_run(events: Sequence[Event]) -> Tree:
    """A tree of the run: agents, model calls, tools, routes, detectors, escalations."""
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    finished = next((e for e in events if isinstance(e, RunFinished)), None)
    title = Text.assemble(("run ", "bold"), (events[0].run_id if events else "?", "bold"))
    if started is not None:
        title.append(f"  task: {_clip(started.task, 90)}")
    if finished is not None:
        style = "green" if finished.status == "ok" else "red"
        title.append(f"\n{finished.status}", style=f"bold {style}")
        title.append(
            f"  cost {_usd(finished.cost_usd)} "
            f"vs all-strong {_usd(finished.counterfactual_cost_usd)}"
        )
        if finished.cost_usd is not None and finished.counterfactual_cost_usd:
            title.append(f" ({finished.cost_usd / finished.counterfactual_cost_usd:.0%})")
        title.append(
            f"  tokens in={finished.input_tokens} out={finished.output_tokens}"
            f"  {finished.model_calls} model calls, {finished.tool_calls} tool calls,"
            f" {finished.escalations} escalation(s)  {finished.duration_ms / 1000:.2f}s"
        )
        if finished.unpriced_models:
            title.append(
                f"\nunpriced models: {', '.join(finished.unpriced_models)}", style="yellow"
            )
        if finished.answer:
            title.append(f"\nanswer: {_clip(finished.answer, 200)}")
    else:
        title.append("\n(no run_finished: the run was killed or is still running)", style="yellow")
    root = Tree(title)
    after = _what_happened_next(events)
    nodes: dict[str, Tree] = {}
    children: dict[str | None, list[Event]] = defaultdict(list)
    owners = {e.span_id for e in events if isinstance(e, AgentStarted | EscalationEvent)}
    for event in events:
        if isinstance(event, RunStarted | RunFinished):
            continue
        parent = event.parent_id if event.parent_id in owners else None
        children[parent].append(event)

    def attach(tree: Tree, parent: str | None) -> None:
        for event in children.get(parent, []):
            node = tree.add(_label(event, after))
            if isinstance(event, AgentStarted | EscalationEvent) and event.span_id not in nodes:
                nodes[event.span_id] = node
                attach(node, event.span_id)

    attach(root, None)
    return root
