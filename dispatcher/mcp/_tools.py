"""An MCP server's tools as our `Tool`s: same validation, errors, timeouts and traces."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from dispatcher._did_you_mean import did_you_mean
from dispatcher.agent import _ref_problem
from dispatcher.errors import ConfigError
from dispatcher.tools.tool import Tool, ToolOutput

if TYPE_CHECKING:
    from dispatcher.mcp._hub import MCPConnection

__all__ = ["mcp_tool", "mcp_tools", "to_output"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_ERROR_CHARS = 500


def mcp_tools(connection: MCPConnection, listed: list[Any]) -> list[Tool]:
    """Every listed tool wrapped; two the model would know by one name are refused, since
    one would shadow the other (a call meant for one runs the other)."""
    tools: list[Tool] = []
    remote: dict[str, str] = {}
    for item in listed:
        tool = mcp_tool(connection, item)
        first = remote.setdefault(tool.wire_name, item.name)
        if first != item.name or any(t.wire_name == tool.wire_name for t in tools):
            name = connection.config.name
            raise ConfigError(
                f"MCP server {name!r} lists tools {first!r} and {item.name!r}, which are both "
                f"{tool.wire_name!r} to the model ('.' and characters providers refuse "
                "become '_'), or lists one tool twice"[:400],
                field=f"mcp_servers.{name}",
                fix="rename one of the tools in the server",
            )
        tools.append(tool)
    _check_approval_names(connection.config.name, connection.config.requires_approval, listed)
    return tools


def _check_approval_names(server: str, wanted: tuple[str, ...], listed: list[Any]) -> None:
    """A name under the server's requires_approval that is none of its tools (a typo, or
    the prefixed name) would leave the tool it meant running without asking anyone."""
    names = {item.name for item in listed} | {_UNSAFE.sub("_", item.name) for item in listed}
    for name in wanted:
        if name in names:
            continue
        bare = name.removeprefix(f"{server}.").removeprefix(f"{server}_")
        hint = f"did you mean {bare!r}? " if bare in names else did_you_mean(name, names)
        listing = ", ".join(sorted(item.name for item in listed)[:30]) or "(none)"
        raise ConfigError(
            f"MCP server {server!r}: requires_approval names no tool of the server: {name[:100]!r}",
            field=f"mcp_servers.{server}.requires_approval",
            fix=hint + f"use the server's own tool names (no '{server}.' prefix): {listing}",
        )


def mcp_tool(connection: MCPConnection, listed: Any) -> Tool:
    """Wrap one listed MCP tool; its input schema is what the model sees and what we check."""
    config = connection.config
    remote_name: str = listed.name
    local = _UNSAFE.sub("_", remote_name)
    schema = dict(listed.input_schema or {"type": "object"})
    schema.setdefault("type", "object")

    async def call(**arguments: Any) -> ToolOutput:
        return await connection.call(remote_name, arguments)

    problem = _ref_problem(schema)
    if problem is not None:  # it would end the run at the tool's first call
        raise ConfigError(
            f"MCP server {config.name!r} lists tool {remote_name[:80]!r} whose input schema "
            f"{problem}"[:400],
            field=f"mcp_servers.{config.name}",
            fix="fix the tool's parameters in the server ($ref only to '#/$defs/...' in it)",
        )

    try:
        return Tool(
            name=f"{config.name}.{local}",
            description=(listed.description or listed.title or remote_name)[:1024],
            parameters=schema,
            function=call,
            timeout_s=config.timeout_s,
            idempotent=False,  # nothing tells us a remote tool has no side effects
            source=f"mcp:{config.name}",
            requires_approval=remote_name in config.requires_approval
            or local in config.requires_approval,
        )
    except ConfigError as exc:  # the name: too long once prefixed with the server's
        raise ConfigError(
            f"MCP server {config.name!r} lists tool {remote_name[:80]!r}, whose name cannot be "
            f"offered to a model as {config.name}_{local[:80]}: {exc.reason[:200]}",
            field=f"mcp_servers.{config.name}",
            fix="shorten the tool's name in the server, or give the server a shorter name",
        ) from None
    except Exception as exc:  # jsonschema's SchemaError: the server sent a broken schema
        raise ConfigError(
            f"MCP server {config.name!r} lists tool {remote_name!r} with an invalid input "
            f"schema: {str(exc).splitlines()[0][:200]}",
            field=f"mcp_servers.{config.name}",
            fix="fix the tool's parameters in the server",
        ) from None


def to_output(result: Any) -> ToolOutput:
    """A `CallToolResult` as text for the model: text parts joined, other parts named."""
    parts: list[str] = []
    for item in result.content or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind == "resource":
            resource = item.resource
            parts.append(getattr(resource, "text", None) or f"[resource {resource.uri}]")
        else:
            parts.append(f"[{kind or 'unknown'} content omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    text = "\n".join(parts)
    if result.is_error:
        return ToolOutput(f"Error: {text[:_ERROR_CHARS] or 'the tool failed'}", is_error=True)
    return ToolOutput(text)
