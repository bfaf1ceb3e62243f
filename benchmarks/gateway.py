"""The gateway under load on loopback, next to LiteLLM's proxy, in the same run.

A fake OpenAI-compatible upstream (`_fake_upstream.py`, its own process) answers after a fixed
latency (default 200 ms) with 20 streamed chunks or one JSON body. The targets:

- direct: clients call the upstream itself (the baseline);
- bare-relay: the thinnest relay on the same stack (`_bare_relay.py`: uvicorn, raw ASGI,
  aiohttp; no routing, checks or trace), the floor any Python relay pays on this machine;
- dispatcher: `dispatcher serve -c CONFIG` (the documented command, default settings), model =
  the registry's name for the upstream, so every request is relayed and traced (the default
  `traces: per_process`: one JSONL file per gateway process);
- dispatcher-per-run: the same with `traces: per_run` (a JSONL file per request);
- litellm: `litellm --config ... --num_workers 1` (LiteLLM's proxy, `litellm[proxy]` from the
  `bench` extra), run offline (LITELLM_LOCAL_MODEL_COST_MAP, telemetry off, a master key).

Every simulated user has its own HTTP client (one connection) and sends requests back to back
for a bounded time. Phases: 1 user (JSON, then streamed), then `--clients` users (JSON, then
streamed). Reported per target and phase: request latency p50/p99 (streams: to the last
byte) and time to first byte, the added latency over direct (same phase, same run), errors,
requests/s, and requests per CPU-second of the target's processes (= requests/s per core).

The load generator shares the machine with the targets (2 cores here): at many clients the
latencies include waiting for a CPU, for every target alike; requests per CPU-second do not.

    python benchmarks/gateway.py                    # 50 clients, 10 s phases (~2 min)
    python benchmarks/gateway.py --clients 200 --duration 30   # the issue's full load
    python benchmarks/gateway.py --json             # one JSON object instead of tables
    python benchmarks/gateway.py --no-litellm       # without the LiteLLM proxy
    python benchmarks/gateway.py --rounds 3         # every phase 3 times; goals as medians
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from _common import machine, percentile, print_table
from _servers import cpu_seconds, free_port, process, process_tree, wait_ready, wait_ready_tcp

HERE = Path(__file__).resolve().parent
MASTER_KEY = "sk-bench-master-key-0001"
MESSAGES = [{"role": "user", "content": "Say twenty words."}]


@dataclass
class Target:
    name: str
    url: str
    model: str
    headers: dict[str, str]
    pids: list[int] = field(default_factory=list)  # whose CPU time counts; none for direct


@dataclass
class PhaseResult:
    latencies_ms: list[float] = field(default_factory=list)
    first_byte_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    cpu_s: float | None = None

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


# -- load ---------------------------------------------------------------------------------


async def _user(
    target: Target, body: bytes, stream: bool, stop_at: float, result: PhaseResult
) -> None:
    url = f"{target.url}/chat/completions"
    headers = {"content-type": "application/json", **target.headers}
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as client:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            first: float | None = None
            try:
                if stream:
                    async with client.stream("POST", url, content=body, headers=headers) as answer:
                        tail = b""
                        async for raw in answer.aiter_raw():
                            if first is None:
                                first = time.perf_counter()
                            tail = (tail + raw)[-64:]
                        ok = answer.status_code == 200 and b"[DONE]" in tail
                else:
                    answer = await client.post(url, content=body, headers=headers)
                    first = time.perf_counter()
                    ok = answer.status_code == 200 and b'"choices"' in answer.content
            except httpx2.HTTPError as exc:
                result.error(type(exc).__name__)
                continue
            if not ok:
                result.error(f"HTTP {answer.status_code}")
                continue
            done = time.perf_counter()
            result.latencies_ms.append((done - started) * 1000)
            result.first_byte_ms.append(((first or done) - started) * 1000)


async def _load(target: Target, clients: int, duration_s: float, stream: bool) -> PhaseResult:
    body = json.dumps({"model": target.model, "messages": MESSAGES, "stream": stream}).encode()
    # Warm-up (not counted): connections, caches, the target's first-request costs.
    await asyncio.gather(
        *(_user(target, body, stream, time.monotonic() + 1.0, PhaseResult()) for _ in range(4))
    )
    result = PhaseResult()
    cpu_before = cpu_seconds(target.pids) if target.pids else None
    started = time.monotonic()
    stop_at = started + duration_s
    await asyncio.gather(*(_user(target, body, stream, stop_at, result) for _ in range(clients)))
    result.elapsed_s = time.monotonic() - started
    if cpu_before is not None:
        result.cpu_s = cpu_seconds(target.pids) - cpu_before
    return result


# -- targets ------------------------------------------------------------------------------


def _dispatcher_config(folder: Path, upstream: str, traces: str | None) -> Path:
    """The gateway's registry; `traces` None leaves the setting at its default."""
    path = folder / f"dispatcher-{traces or 'default'}.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: fake\n"
        f"    litellm_params: {{model: openai/fake, api_base: '{upstream}/v1'}}\n"
        "dispatcher:\n"
        "  tiers: {weak: fake, strong: fake}\n"
        "  prices: {fake: {input: 0.1, output: 0.2}}\n"
        + (f"  gateway: {{traces: {traces}}}\n" if traces else "")
    )
    return path


def _litellm_config(folder: Path, upstream: str) -> Path:
    path = folder / "litellm.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: fake\n"
        f"    litellm_params: {{model: openai/fake, api_base: '{upstream}/v1', api_key: fake}}\n"
        "general_settings:\n"
        "  master_key: os.environ/LITELLM_MASTER_KEY\n"
    )
    return path


def _litellm_command(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "litellm"
    return str(beside) if beside.exists() else shutil.which("litellm")


def _summarise(
    name: str, phase: str, result: PhaseResult, direct_p50: float | None
) -> dict[str, Any]:
    lat = result.latencies_ms
    done = len(lat)
    row: dict[str, Any] = {
        "target": name,
        "phase": phase,
        "requests": done,
        "errors": result.errors,
        "error_kinds": result.error_kinds,
        "p50_ms": round(percentile(lat, 50), 2) if lat else None,
        "p99_ms": round(percentile(lat, 99), 2) if lat else None,
        "first_byte_p50_ms": round(percentile(result.first_byte_ms, 50), 2) if lat else None,
        "req_per_s": round(done / result.elapsed_s, 1) if result.elapsed_s else None,
        "cpu_s": round(result.cpu_s, 2) if result.cpu_s is not None else None,
        "req_per_cpu_s": round(done / result.cpu_s, 1) if result.cpu_s else None,
    }
    if direct_p50 is not None and lat:
        row["added_p50_ms"] = round(row["p50_ms"] - direct_p50, 2)
    return row


def run(args: argparse.Namespace) -> dict[str, Any]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    phases = [
        ("c1-json", 1, args.c1_duration, False),
        ("c1-stream", 1, args.c1_duration, True),
        (f"c{args.clients}-json", args.clients, args.duration, False),
        (f"c{args.clients}-stream", args.clients, args.duration, True),
    ]
    rows: list[dict[str, Any]] = []
    litellm = None if args.no_litellm else _litellm_command(args.litellm)
    notes = []
    if not args.no_litellm and litellm is None:
        notes.append("litellm not found (pip install -e '.[bench]'); its rows are missing")
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gw-bench-")))
        up_port, ll_port = free_port(), free_port()
        upstream_url = f"http://127.0.0.1:{up_port}"
        up_log = folder / "upstream.log"
        upstream = stack.enter_context(
            process(
                [
                    sys.executable,
                    str(HERE / "_fake_upstream.py"),
                    str(up_port),
                    "--latency",
                    str(args.latency),
                    "--chunks",
                    str(args.chunks),
                ],
                up_log,
            )
        )
        time.sleep(0.5)
        if upstream.poll() is not None:
            raise SystemExit(up_log.read_text())
        targets = [Target("direct", f"{upstream_url}/v1", "fake", {})]
        bare_port = free_port()
        bare_log = folder / "bare-relay.log"
        bare = stack.enter_context(
            process(
                [sys.executable, str(HERE / "_bare_relay.py"), str(bare_port), upstream_url],
                bare_log,
            )
        )
        wait_ready_tcp(bare_port, bare, bare_log)
        targets.append(
            Target(
                "bare-relay", f"http://127.0.0.1:{bare_port}/v1", "fake", {}, process_tree(bare.pid)
            )
        )
        env = {**os.environ, "DISPATCHER_RUNS_DIR": str(folder / "runs")}
        # The default (per_process: one trace file for all relayed requests of the process),
        # and per_run: a file per request.
        targets_traces: tuple[tuple[str, str | None], ...] = (
            ("dispatcher", None),
            ("dispatcher-per-run", "per_run"),
        )
        for name, traces in targets_traces:
            port = free_port()
            log = folder / f"{name}.log"
            config = _dispatcher_config(folder, upstream_url, traces)
            gateway = stack.enter_context(
                process(
                    [
                        sys.executable,
                        "-c",
                        "from dispatcher.cli import main; main()",
                        "serve",
                        "-c",
                        str(config),
                        "--port",
                        str(port),
                    ],
                    log,
                    env,
                )
            )
            wait_ready(f"http://127.0.0.1:{port}/readyz", gateway, 60, log)
            targets.append(
                Target(name, f"http://127.0.0.1:{port}/v1", "fake", {}, process_tree(gateway.pid))
            )
        if litellm is not None:
            ll_log = folder / "litellm.log"
            ll_env = {
                **os.environ,
                "LITELLM_MASTER_KEY": MASTER_KEY,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_TELEMETRY_DISABLED": "true",
                "LITELLM_LOG": "ERROR",
            }
            proxy = stack.enter_context(
                process(
                    [
                        litellm,
                        "--config",
                        str(_litellm_config(folder, upstream_url)),
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(ll_port),
                        "--num_workers",
                        "1",
                    ],
                    ll_log,
                    ll_env,
                )
            )
            wait_ready(f"http://127.0.0.1:{ll_port}/health/liveliness", proxy, 180, ll_log)
            targets.append(
                Target(
                    "litellm",
                    f"http://127.0.0.1:{ll_port}/v1",
                    "fake",
                    {"authorization": f"Bearer {MASTER_KEY}"},
                    process_tree(proxy.pid),
                )
            )
        for round_number in range(1, args.rounds + 1):
            for phase, clients, duration, stream in phases:
                direct_p50 = None
                for target in targets:
                    print(
                        f"# round {round_number}/{args.rounds} {phase}: {target.name} ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    result = asyncio.run(_load(target, clients, duration, stream))
                    row = _summarise(target.name, phase, result, direct_p50)
                    row["round"] = round_number
                    if target.name == "direct":
                        direct_p50 = row["p50_ms"]
                    rows.append(row)
        runs = folder / "runs"
        traces = {
            "per_run_files": len(list(runs.glob("*.jsonl"))),
            "per_process_runs": sum(
                path.read_bytes().count(b'"kind":"run_finished"')
                for path in (runs / "gateway").glob("*.jsonl")
            ),
        }
    return {
        "machine": machine(),
        "settings": {
            "clients": args.clients,
            "duration_s": args.duration,
            "c1_duration_s": args.c1_duration,
            "latency_s": args.latency,
            "chunks": args.chunks,
            "litellm": _version("litellm"),
            "uvicorn": _version("uvicorn"),
            "starlette": _version("starlette"),
        },
        "rows": rows,
        "goals": goals(rows, clients=args.clients),
        "gateway_traces_written": traces,
        "notes": notes,
    }


def goals(rows: list[dict[str, Any]], *, clients: int) -> dict[str, Any]:
    """The issue's two goals, per round and as medians over the rounds.

    One round's figures move with the machine's load (LiteLLM's requests per CPU-second most
    of all), so each ratio is taken within a round, where both targets met the same machine,
    and the median of the rounds is the figure to quote.
    """

    def value(target: str, phase: str, key: str, round_number: int) -> float | None:
        for row in rows:
            if (row["target"], row["phase"], row["round"]) == (target, phase, round_number):
                found = row.get(key)
                return float(found) if isinstance(found, int | float) else None
        return None

    rounds = sorted({row["round"] for row in rows})
    per_round = []
    for number in rounds:
        entry: dict[str, Any] = {"round": number}
        for kind in ("json", "stream"):
            added = value("dispatcher", f"c1-{kind}", "added_p50_ms", number)
            entry[f"added_p50_ms_c1_{kind}"] = added
            ours = value("dispatcher", f"c{clients}-{kind}", "req_per_cpu_s", number)
            theirs = value("litellm", f"c{clients}-{kind}", "req_per_cpu_s", number)
            entry[f"vs_litellm_c{clients}_{kind}"] = (
                round(ours / theirs, 2) if ours is not None and theirs else None
            )
        per_round.append(entry)
    medians: dict[str, Any] = {}
    for key in per_round[0] if per_round else ():
        if key == "round":
            continue
        found = [entry[key] for entry in per_round if entry[key] is not None]
        medians[key] = round(statistics.median(found), 2) if found else None
    return {"rounds": per_round, "median": medians}


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per many-user phase")
    parser.add_argument("--c1-duration", type=float, default=5.0, help="seconds per 1-user phase")
    parser.add_argument("--latency", type=float, default=0.2, help="upstream latency, seconds")
    parser.add_argument("--chunks", type=int, default=20, help="chunks per streamed answer")
    parser.add_argument("--litellm", help="the litellm command (default: next to python, or PATH)")
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every phase; goals are medians of rounds"
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 1000 and 0 < args.duration <= 600 and 0 < args.c1_duration <= 600):
        parser.error("keep --clients within 1..1000 and durations within 0..600 s")
    if not 1 <= args.rounds <= 20:
        parser.error("keep --rounds within 1..20")
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(json.dumps(report["machine"]))
    print(json.dumps(report["settings"]))
    headers = [
        "round",
        "target",
        "phase",
        "req",
        "err",
        "p50 ms",
        "p99 ms",
        "added p50",
        "1st byte p50",
        "req/s",
        "cpu s",
        "req/cpu-s",
    ]
    print_table(
        headers,
        [
            [
                r["round"],
                r["target"],
                r["phase"],
                r["requests"],
                r["errors"],
                r["p50_ms"],
                r["p99_ms"],
                r.get("added_p50_ms", "-"),
                r["first_byte_p50_ms"],
                r["req_per_s"],
                r["cpu_s"] if r["cpu_s"] is not None else "-",
                r["req_per_cpu_s"] if r["req_per_cpu_s"] is not None else "-",
            ]
            for r in report["rows"]
        ],
    )
    print(f"goals per round: {json.dumps(report['goals']['rounds'])}")
    print(f"goals, median of rounds: {json.dumps(report['goals']['median'])}")
    print(f"gateway traces written: {report['gateway_traces_written']}")
    for note in report["notes"]:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
