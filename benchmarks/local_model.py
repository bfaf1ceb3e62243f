"""The real local model (SmolLM2-135M-Instruct, in-process): speed, valid calls, overhead.

    python benchmarks/local_model.py            # tables; ~3-6 min on 2 shared cores
    python benchmarks/local_model.py --json     # one JSON object

Measures, on this machine:
- decode speed (tokens/s) and time to first token for a cold and for a cached prompt prefix;
- valid-call rate: share of replies that are one call to an offered tool whose arguments parse
  and fit its schema, with grammar-constrained decoding and without, for tool_choice
  "required" and "auto" (auto: the share that called a tool is reported as well);
- the framework's own time per worker step with the real model: the live local_worker example
  (the strong model replayed from its recording), wall time minus model and tool time.
Needs the `local` extra and the weights (docs/local-model.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table

from dispatcher.messages import ModelRequest, ToolChoice, ToolSpec, UserMessage
from dispatcher.models.local import LocalModel
from dispatcher.models.local._calls import call_is_valid

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str, description: str, **properties: str) -> ToolSpec:
    return ToolSpec(
        name,
        description,
        {
            "type": "object",
            "properties": {key: {"type": kind} for key, kind in properties.items()},
            "required": list(properties),
        },
    )


TOOLS = [
    _tool("get_weather", "Current weather for a city.", city="string"),
    _tool("add", "Add two numbers.", a="number", b="number"),
    _tool("sql_run_query", "Run one read-only SELECT query on the database.", query="string"),
    _tool("send_email", "Send an email.", to="string", subject="string", body="string"),
    _tool("convert_currency", "Convert money.", amount="number", source="string", target="string"),
]
SCHEMAS = {t.name: t.parameters for t in TOOLS}
PROMPTS = [
    "What is the weather in Paris?",
    "Add 17 and 25.",
    "How many customers live in Brazil? Use the database.",
    "Email bob@example.com that the meeting moved to 3 pm.",
    "How much is 120 US dollars in euros?",
    "Is it raining in Tokyo right now?",
    "What is 3.5 plus 4.25?",
    "List the five longest tracks in the database.",
    "Tell alice@example.com the report is ready, subject 'Report'.",
    "Convert 50 GBP to JPY.",
    "Weather for Nairobi, please.",
    "Sum 1000 and 2345.",
]


async def _valid_call_rates(quick: bool) -> list[dict[str, Any]]:
    prompts = PROMPTS[:4] if quick else PROMPTS
    rows = []
    for constrained in (True, False):
        model = LocalModel("smollm2", n_ctx=4096, constrained=constrained)
        for choice in ("required", "auto"):
            valid = called = 0
            for prompt in prompts:
                request = ModelRequest(
                    messages=[UserMessage(prompt)],
                    tools=TOOLS,
                    tool_choice=_choice(choice),
                    max_output_tokens=96,
                )
                response = await model.request(request)
                called += bool(response.tool_calls)
                valid += len(response.tool_calls) == 1 and call_is_valid(
                    response.tool_calls[0], SCHEMAS
                )
            rows.append(
                {
                    "decoding": "constrained" if constrained else "free",
                    "tool_choice": choice,
                    "requests": len(prompts),
                    "valid_call_rate": valid / len(prompts),
                    "called_a_tool_rate": called / len(prompts),
                }
            )
    return rows


def _choice(name: str) -> ToolChoice:
    return "required" if name == "required" else "auto"


async def _speed(quick: bool) -> dict[str, Any]:
    model = LocalModel("smollm2", n_ctx=4096)
    runs = 2 if quick else 5
    cold_ttft, cached_ttft, decode_tps = [], [], []
    story = "Write a short story about a lighthouse keeper and a storm."
    for i in range(runs):
        # A different first line each time: nothing of the prompt is in the KV cache.
        request = ModelRequest(
            messages=[UserMessage(story)],
            system=f"Session {i}. You write stories.",
            max_output_tokens=128,
        )
        response = await model.request(request)
        assert response.ttft_ms is not None
        cold_ttft.append(response.ttft_ms)
        decode_s = (response.latency_ms - response.ttft_ms) / 1000
        decode_tps.append((response.usage.output_tokens - 1) / decode_s)
        again = await model.request(request)  # same prompt: the prefix is cached
        assert again.ttft_ms is not None
        cached_ttft.append(again.ttft_ms)
    prompt_tokens = response.usage.input_tokens
    return {
        "prompt_tokens": prompt_tokens,
        "ttft_ms_cold_median": _median(cold_ttft),
        "ttft_ms_cached_median": _median(cached_ttft),
        "decode_tokens_per_s_median": _median(decode_tps),
        "runs": runs,
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return round(ordered[middle], 1)
    return round((ordered[middle - 1] + ordered[middle]) / 2, 1)


async def _overhead() -> dict[str, Any]:
    from dispatcher.dispatching import Dispatcher
    from dispatcher.examples import load_example
    from dispatcher.models.local._runtime import load_model
    from dispatcher.models.local._weights import resolve_weights

    os.environ.pop("ANTHROPIC_API_KEY", None)  # the strong model replays its recorded turns
    spec = load_example(ROOT / "examples" / "local_worker")
    registry = spec.build_registry()
    # Loaded before the clock starts (same settings as the example's): loading is not a step.
    load_model(resolve_weights("smollm2"), n_ctx=8192, n_threads=None)
    runs_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "dispatcher-bench-local"
    started = time.perf_counter()
    result = await Dispatcher(registry, runs_dir=runs_dir).run(spec.task)
    wall_ms = (time.perf_counter() - started) * 1000
    events = [e.model_dump() for e in result.events]
    model_ms = sum(e["latency_ms"] for e in events if e["kind"] == "model_call")
    tool_ms = sum(e["duration_ms"] for e in events if e["kind"] == "tool_call")
    local_calls = [e for e in events if e["kind"] == "model_call" and e["model"] == "smollm2"]
    steps = sum(1 for e in events if e["kind"] in ("model_call", "tool_call"))
    framework_ms = wall_ms - model_ms - tool_ms
    return {
        "wall_ms": round(wall_ms),
        "model_ms": round(model_ms),
        "tool_ms": round(tool_ms, 1),
        "local_model_calls": len(local_calls),
        "steps": steps,
        "framework_ms_per_step": round(framework_ms / steps, 2),
        "framework_share": round(framework_ms / wall_ms, 4),
        "local_tokens_in": sum(e["input_tokens"] for e in local_calls),
        "local_tokens_cached": sum(e["cached_input_tokens"] for e in local_calls),
        "local_tokens_out": sum(e["output_tokens"] for e in local_calls),
    }


async def _main(quick: bool) -> dict[str, Any]:
    return {
        "machine": {**machine(), "load_average": os.getloadavg()},
        "speed": await _speed(quick),
        "valid_calls": await _valid_call_rates(quick),
        "overhead": await _overhead(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = parser.parse_args()
    results = anyio.run(_main, args.quick)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(json.dumps(results["machine"]))
    for title, rows in (
        ("speed (greedy decoding)", [results["speed"]]),
        ("valid-call rate", results["valid_calls"]),
        ("framework time per step, live local_worker run", [results["overhead"]]),
    ):
        print(f"\n{title}")
        print_table(list(rows[0]), [list(row.values()) for row in rows])


if __name__ == "__main__":
    main()
