"""A long worker run written as a real trace (500 model + tool steps, one escalation)."""

from __future__ import annotations

from pathlib import Path

from dispatcher.trace.events import (
    AgentFinished,
    AgentStarted,
    DetectorVerdictEvent,
    EscalationEvent,
    ModelCall,
    Note,
    RunFinished,
    RunStarted,
    ToolCallEvent,
)
from dispatcher.trace.sink import JsonlTraceSink
from dispatcher.trace.tracer import Tracer


def write_long_trace(path: Path, steps: int = 500, *, hostile: str = "") -> Path:
    """`hostile` is put into a tool output and the guidance, as untrusted text would be."""
    tracer = Tracer("long-run", [JsonlTraceSink(path)], trace_path=path)
    tracer.emit(RunStarted, span_id="s0", task="Walk the repository and fix every lint error.")
    worker = tracer.new_span()
    tracer.emit(AgentStarted, span_id=worker, agent="fixer", model="small", tier="weak")
    usage = {"input_tokens": 900, "output_tokens": 40}
    for step in range(steps):
        tracer.emit(ModelCall, parent_id=worker, agent="fixer", model="small", tier="weak",
                    cost_usd=0.0001, latency_ms=12.0, tool_calls=["run_lint"], **usage)  # fmt: skip
        failed = step % 50 == 7
        tracer.emit(ToolCallEvent, parent_id=worker, agent="fixer", tool="run_lint",
                    call_id=f"c{step}", arguments={"path": f"src/module_{step}.py"}, ok=not failed,
                    error="exit 1" if failed else None, error_kind="raised" if failed else None,
                    output=f"checked module {step} {hostile}", duration_ms=3.5)  # fmt: skip
        if step == steps // 2:
            tracer.emit(DetectorVerdictEvent, parent_id=worker, detector="stall.no_progress",
                        agent="fixer", verdict="no new facts in 6 steps", step=step,
                        evidence={"steps": [step - 5, step]}, action="escalate")  # fmt: skip
            episode = tracer.new_span()
            tracer.emit(ModelCall, parent_id=episode, agent="fixer-overwatch", model="strong",
                        tier="strong", cost_usd=0.004, latency_ms=800.0, **usage)  # fmt: skip
            tracer.emit(EscalationEvent, span_id=episode, parent_id=worker, trigger="detector",
                        reason="stall.no_progress detector: no new facts in 6 steps",
                        from_model="small", to_model="strong", mode="advise", outcome="advised",
                        cost_usd=0.004, agent="fixer", question="What next?",
                        guidance=f"Run the linter once on the whole tree. {hostile}")  # fmt: skip
            tracer.emit(Note, parent_id=worker, agent="fixer", message="Advice from the overwatch")
    tracer.emit(AgentFinished, parent_id=worker, agent="fixer", status="ok", turns=steps)
    tracer.emit(RunFinished, status="ok", cost_usd=0.054, counterfactual_cost_usd=1.7,
                input_tokens=900 * steps, output_tokens=40 * steps, model_calls=steps + 1,
                tool_calls=steps, escalations=1, duration_ms=9000.0)  # fmt: skip
    tracer.close()
    return path
