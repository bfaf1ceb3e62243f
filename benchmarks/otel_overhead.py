"""What OpenTelemetry spans cost per agent step, next to the same runs without them.

The workload is overhead.py's (a zero-latency model calls one tiny async tool `steps` times,
argument validation, detectors and the JSONL trace file on). "otel" runs add the span sink the
way a user switches it on (`DISPATCHER_OTEL=1`), writing through the global TracerProvider to
the SDK's in-memory exporter with a SimpleSpanProcessor (each span handed over as it ends: the
worst case; a BatchSpanProcessor defers the export to a thread). A third mode adds a sink that
does nothing, to tell the cost of leaving the file-only fast path (events become objects) from
the spans' own. Modes rotate every round so machine noise hits them alike. Also timed:
exporting a 500-step trace as OTLP JSON and rendering it as HTML (the `dispatcher trace
export` / `trace html` work, file reading aside).

    python benchmarks/otel_overhead.py            # a table
    python benchmarks/otel_overhead.py --json     # one JSON object
    python benchmarks/otel_overhead.py --quick    # fewer rounds, for a smoke run

JSON keys: `off_us_per_step`, `null_sink_us_per_step`, `otel_us_per_step` (median CPU us per
step), `..._p95`, `otel_extra_us_per_step`, `otel_over_off`, `export_500_steps_ms`,
`html_500_steps_ms`, `machine`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from _common import freeze_heap, machine, print_table, summary
from _dispatcher_side import DispatcherWorkload

from dispatcher.trace import sink as _sink

# off: the JSONL file only; null_sink: plus a sink that does nothing; otel: plus the span sink
MODES = ("off", "null_sink", "otel")


def _global_exporter() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def per_step(*, steps: int, rounds: int, trace_dir: Path) -> dict[str, Any]:
    exporter = _global_exporter()
    workload = DispatcherWorkload(trace_dir, steps=steps)
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    spans_per_run = 0
    for mode in MODES * 3:  # warm every path
        _switch(mode)
        await workload.run()
    exporter.clear()
    freeze_heap()
    for round_ in range(rounds):
        shift = round_ % len(MODES)
        for mode in MODES[shift:] + MODES[:shift]:
            _switch(mode)
            gc.collect()
            started = time.process_time()
            await workload.run()
            cpu[mode].append((time.process_time() - started) / steps * 1e6)
            if mode == "otel":
                spans_per_run = len(exporter.get_finished_spans())
            exporter.clear()
    _switch("off")
    return {"cpu": {mode: summary(values) for mode, values in cpu.items()}, "spans": spans_per_run}


class _NullSink:
    """A second sink that does nothing: what leaving the file-only fast path costs."""

    def write(self, event: object) -> None:
        return None

    def close(self) -> None:
        return None


_NULL = _NullSink()


def _switch(mode: str) -> None:
    if mode == "otel":
        os.environ["DISPATCHER_OTEL"] = "1"
    else:
        os.environ.pop("DISPATCHER_OTEL", None)
    if mode == "null_sink" and _NULL not in _sink.EXTRA_SINKS:
        _sink.EXTRA_SINKS.append(_NULL)
    elif mode != "null_sink" and _NULL in _sink.EXTRA_SINKS:
        _sink.EXTRA_SINKS.remove(_NULL)


def renderings(trace_dir: Path, repeats: int) -> dict[str, float]:
    """Milliseconds to export / render a 500-step trace (median of `repeats`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "trace"))
    from long_trace import write_long_trace

    from dispatcher.telemetry import export_otlp_json
    from dispatcher.trace._html import render_html
    from dispatcher.trace.reader import read_trace

    events = read_trace(write_long_trace(trace_dir / "long.jsonl", steps=500))
    timings: dict[str, list[float]] = {"export": [], "html": []}
    for _ in range(repeats):
        started = time.perf_counter()
        json.dumps(export_otlp_json(events))
        timings["export"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        render_html(events)
        timings["html"].append((time.perf_counter() - started) * 1000)
    return {name: round(summary(values)["median"], 1) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (smoke run)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    rounds = 10 if args.quick else args.rounds
    with tempfile.TemporaryDirectory(prefix="otel-bench-") as folder:
        measured = anyio.run(
            lambda: per_step(steps=args.steps, rounds=rounds, trace_dir=Path(folder))
        )
        rendered = renderings(Path(folder), 3 if args.quick else 10)
    off, on = measured["cpu"]["off"], measured["cpu"]["otel"]
    null = measured["cpu"]["null_sink"]
    result = {
        "null_sink_us_per_step": round(null["median"], 1),
        "off_us_per_step": round(off["median"], 1),
        "off_us_per_step_p95": round(off["p95"], 1),
        "otel_us_per_step": round(on["median"], 1),
        "otel_us_per_step_p95": round(on["p95"], 1),
        "otel_extra_us_per_step": round(on["median"] - off["median"], 1),
        "otel_over_off": round(on["median"] / off["median"], 2),
        "spans_per_run": measured["spans"],
        "steps": args.steps,
        "rounds": rounds,
        "export_500_steps_ms": rendered["export"],
        "html_500_steps_ms": rendered["html"],
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.steps}-step runs, {rounds} rounds each, CPU us per step")
    print_table(
        ["mode", "median", "p95"],
        [
            ["JSONL trace only", result["off_us_per_step"], result["off_us_per_step_p95"]],
            ["+ a sink that does nothing", result["null_sink_us_per_step"], "-"],
            [
                "+ OTel spans (in-memory)",
                result["otel_us_per_step"],
                result["otel_us_per_step_p95"],
            ],
        ],
    )
    print(
        f"OTel adds {result['otel_extra_us_per_step']} us per step "
        f"({result['otel_over_off']}x); {result['spans_per_run']} spans per run"
    )
    print(
        f"500-step trace: OTLP JSON export {result['export_500_steps_ms']} ms, "
        f"HTML {result['html_500_steps_ms']} ms"
    )


if __name__ == "__main__":
    main()
