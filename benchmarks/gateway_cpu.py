"""Gateway CPU per relayed request (one user at a time, or `--clients` at once), for source
trees side by side.

A fake upstream (`_fake_upstream.py`, no latency unless `--latency`) and `dispatcher serve`
(default settings unless `--traces`; model = the upstream's registry name, so every request
is relayed and traced); each user (its own connection) sends requests back to back; the
gateway process's CPU time over them, divided by their number. Rounds alternate between
the trees (`--tree A --tree B`, each a folder holding a `dispatcher` package; default: this
checkout), so a busy machine's drift hits both alike.

    python benchmarks/gateway_cpu.py --tree /tmp/base --tree . --rounds 3 --requests 3000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import aiohttp
from _servers import cpu_seconds, free_port, process, wait_ready, wait_ready_tcp

HERE = Path(__file__).resolve().parent
# Refuses to serve from any `dispatcher` but the tree's (argv[1]), so an A/B compares trees.
_SERVE_FROM_TREE = """
import sys
from pathlib import Path
tree = Path(sys.argv.pop(1))
import dispatcher
if tree not in Path(dispatcher.__file__).resolve().parents:
    raise SystemExit(f"imported {dispatcher.__file__}, not the tree {tree}")
from dispatcher.cli import main
main()
"""
BODY = {"model": "fake", "messages": [{"role": "user", "content": "Say twenty words."}]}


async def _user(url: str, requests: int, stream: bool) -> None:
    body = json.dumps({**BODY, "stream": stream}).encode()
    headers = {"content-type": "application/json"}
    async with aiohttp.ClientSession() as session:
        for _ in range(requests):
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    raise SystemExit(f"HTTP {answer.status} from the gateway")


async def _drive(url: str, requests: int, stream: bool, clients: int = 1) -> None:
    """`requests` in all, from `clients` users with a connection each."""
    each = max(1, requests // clients)
    await asyncio.gather(*(_user(url, each, stream) for _ in range(clients)))


def _one(tree: Path, upstream: str, folder: Path, args: argparse.Namespace) -> float:
    """CPU µs per request of a gateway running the `dispatcher` package under `tree`."""
    config = folder / "gateway.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: fake\n"
        f"    litellm_params: {{model: openai/fake, api_base: '{upstream}/v1'}}\n"
        "dispatcher:\n"
        "  tiers: {weak: fake, strong: fake}\n"
        "  prices: {fake: {input: 0.1, output: 0.2}}\n"
        + (f"  gateway: {{traces: {args.traces}}}\n" if args.traces else "")
    )
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(tree.resolve()),
        "DISPATCHER_RUNS_DIR": str(folder / "runs"),
    }
    log = folder / "gateway.log"
    # -P: without it, `python -c` puts the working directory first on sys.path, and run from
    # a checkout that would import the checkout's `dispatcher`, not the tree's.
    command = [sys.executable, "-P", "-c", _SERVE_FROM_TREE, str(tree.resolve()), "serve"]
    command += ["-c", str(config), "--port", str(port)]
    with process(command, log, env) as gateway:
        wait_ready(f"http://127.0.0.1:{port}/readyz", gateway, 60, log)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        asyncio.run(_drive(url, args.warmup, args.stream))
        before = cpu_seconds([gateway.pid])
        asyncio.run(_drive(url, args.requests, args.stream, args.clients))
        done = max(1, args.requests // args.clients) * args.clients
        return (cpu_seconds([gateway.pid]) - before) / done * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", type=Path, help="a folder with `dispatcher`")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--stream", action="store_true", help="streamed requests (20 chunks)")
    parser.add_argument("--clients", type=int, default=1, help="concurrent users (default 1)")
    parser.add_argument("--latency", type=float, default=0.0, help="upstream latency, seconds")
    parser.add_argument("--traces", choices=["per_run", "per_process"], help="default: unset")
    args = parser.parse_args()
    trees: list[Path] = args.tree or [HERE.parent]
    results: dict[str, list[float]] = {str(tree): [] for tree in trees}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        up_port = free_port()
        up_log = folder / "upstream.log"
        command = [sys.executable, str(HERE / "_fake_upstream.py"), str(up_port)]
        with process([*command, "--latency", str(args.latency)], up_log) as upstream:
            wait_ready_tcp(up_port, upstream, up_log)
            for _ in range(args.rounds):
                for tree in trees:
                    results[str(tree)].append(
                        _one(tree, f"http://127.0.0.1:{up_port}", folder, args)
                    )
    for tree, values in results.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"{tree}: median {statistics.median(values):.0f} µs CPU per request ({runs})")


if __name__ == "__main__":
    main()
