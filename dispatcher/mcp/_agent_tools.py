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
    _refuse_shared_wire_names(agent, [*run.registry.tools_for(agent), *tools])
    return tools


def _refuse_shared_wire_names(agent: Agent, tools: list[Tool]) -> None:
    """Two tools the model would know by one name: one would shadow the other (a call meant
    for one runs the other) and providers refuse such a tool list."""
    seen: dict[str, Tool] = {}
    for tool in tools:
        other = seen.setdefault(tool.wire_name, tool)
        if other is not tool:
            raise ConfigError(
                f"agent {agent.name!r} gets two tools named {tool.wire_name!r} on the wire: "
                f"{other.name!r} ({other.source or 'its own'}) and {tool.name!r} "
                f"({tool.source or 'its own'}) "
                "('.' and other characters providers refuse become '_')"[:400],
                entry=f"agent {agent.name!r} ({agent.source})",
                field="mcp_servers",
                fix="rename one of the tools (in its MCP server or in the agent), or give the "
                "MCP server another name",
            )
