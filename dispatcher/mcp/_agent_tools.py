"""An agent's MCP tools for a run, and the hub a run opens when its agents need one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from dispatcher.errors import ConfigError
from dispatcher.mcp._hub import MCPHub
from dispatcher.tools.tool import Tool

if TYPE_CHECKING:
    from dispatcher.agent import Agent
    from dispatcher.registry.registry import Registry
    from dispatcher.run_context import RunContext

__all__ = ["mcp_scope", "mcp_tools_for", "uses_mcp"]


def uses_mcp(registry: Registry) -> bool:
    return any(agent.mcp_servers for agent in registry.agents.values())


@asynccontextmanager
async def mcp_scope(
    registry: Registry, run: RunContext, shared: MCPHub | None = None
) -> AsyncIterator[None]:
    """Give the run a hub: the dispatcher's shared one, else its own, stopped when it ends."""
    if shared is not None:
        run.mcp = shared
        yield
    elif uses_mcp(registry):
        async with MCPHub() as hub:
            run.mcp = hub
            yield
    else:
        yield


async def mcp_tools_for(agent: Agent, run: RunContext) -> list[Tool]:
    """Every tool of the agent's MCP servers, started on first use."""
    if run.mcp is None:
        raise ConfigError(
            f"agent {agent.name!r} uses MCP servers but this run has none open",
            entry=f"agent {agent.name!r} ({agent.source})",
            fix="run it through Dispatcher.run or the CLI, which start its servers",
        )
    tools: list[Tool] = []
    for config in agent.mcp_configs:
        tools.extend(await run.mcp.tools(config))
    return tools
