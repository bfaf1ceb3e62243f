"""A dispatcher run that blocks inside a tool until it is killed (see test_crash_and_cancel).

Usage: python killed_run_child.py RUNS_DIR. Prints TOOL_STARTED once the tool is running.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from reliability_harness import scripted_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.testing import reply, tool_calls


@tool(timeout_s=None)
async def block() -> str:
    """Blocks forever."""
    print("TOOL_STARTED", flush=True)
    await anyio.sleep_forever()
    return ""


def main() -> None:
    runs_dir = Path(sys.argv[1])
    agent = Agent(name="blocker", description="Blocks.", tools=[block], tier="weak")
    registry, _, _ = scripted_registry(
        [agent],
        small=[
            tool_calls(("blocker", {"task": "block"}), agent="dispatcher"),
            tool_calls(("block", {}), agent="blocker"),
            reply("never reached", agent="blocker"),
        ],
    )
    Dispatcher(registry, runs_dir=runs_dir).run_sync("block until killed")


if __name__ == "__main__":
    main()
