"""Shared pieces of the benchmarks: statistics, the machine description, workload lists."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "build_workloads",
    "cpu_model",
    "freeze_heap",
    "machine",
    "percentile",
    "print_table",
    "summary",
]

PACKAGES = (
    "pydantic",
    "pydantic-core",
    "jsonschema",
    "structlog",
    "anyio",
    "pydantic-ai-slim",
    "openai-agents",
)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99 and min of a sample, rounded for reading."""
    return {
        "median": round(statistics.median(values), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "min": round(min(values), 2),
        "n": len(values),
    }


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on (printed with every result)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cores": usable,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "packages": versions,
    }


def freeze_heap() -> None:
    """Collect, then move everything alive so far out of the collector's sight.

    The peers import a large object graph; without this every full collection in any
    framework's run walks it, and the framework that happens to trigger it pays.
    """
    gc.collect()
    gc.freeze()


def build_workloads(
    names: Sequence[str], trace_dir: Path, *, steps: int, hook: Any = None
) -> list[Any]:
    """Workload objects by name; a peer that is not installed is skipped with a note."""
    from _dispatcher_side import DispatcherRouterWorkload, DispatcherWorkload
    from _peers import BareLoop, OpenAIAgentsWorkload, PydanticAIWorkload, peers_available

    available = peers_available()
    made: list[Any] = []
    for name in names:
        if name == "dispatcher":
            made.append(DispatcherWorkload(trace_dir, steps=steps, hook=hook))
        elif name == "dispatcher_run":
            made.append(DispatcherRouterWorkload(trace_dir, steps=steps, hook=hook))
        elif name == "bare_loop":
            made.append(BareLoop(steps=steps, hook=hook))
        elif name in available and not available[name]:
            print(f"note: {name} is not installed (pip install -e '.[bench]'); skipped")
        elif name == "pydantic_ai":
            made.append(PydanticAIWorkload(steps=steps, hook=hook))
        elif name == "openai_agents":
            made.append(OpenAIAgentsWorkload(steps=steps, hook=hook))
        else:
            raise SystemExit(f"unknown framework {name!r}")
    return made


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)
