"""MCP server processes and sessions for one dispatcher or run: started once, always stopped.

Each server lives in its own task of the hub's task group, so its transport is entered and left
by the same task (anyio requires it) whichever agent first asked for it. Leaving the hub, by
return, error or cancellation, stops every server it started.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from dispatcher.errors import ConfigError
from dispatcher.mcp._config import MCPServerConfig
from dispatcher.tools.tool import Tool, ToolOutput

__all__ = ["MCPConnection", "MCPHub"]


@dataclass(eq=False)
class MCPConnection:
    """A live session with one server, and the tools it listed."""

    config: MCPServerConfig
    client: Any = None
    tools: list[Tool] = field(default_factory=list)
    stopped: str | None = None  # why the server can no longer be used
    stop: anyio.Event = field(default_factory=anyio.Event)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutput:
        from mcp import MCPError

        from dispatcher.mcp._tools import to_output

        if self.stopped is not None:
            return self._unavailable()
        try:
            result = await self.client.call_tool(name, arguments)
        except MCPError as exc:
            if "closed" in str(exc).lower():  # the process exited or the connection dropped
                self.stopped = str(exc)
                return self._unavailable()
            return ToolOutput(f"Error: MCP server {self.config.name!r}: {exc}", is_error=True)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError) as exc:
            self.stopped = f"{type(exc).__name__}: {exc}"
            return self._unavailable()
        return to_output(result)

    def _unavailable(self) -> ToolOutput:
        return ToolOutput(
            f"Error: the MCP server {self.config.name!r} stopped ({self.stopped}); its tools "
            "cannot be used for the rest of this run. Answer without them or say what failed.",
            is_error=True,
        )


class MCPHub:
    """Starts the MCP servers agents ask for, shares them, and stops them all on exit."""

    def __init__(self) -> None:
        self._group: TaskGroup | None = None
        self._servers: dict[str, MCPConnection] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def __aenter__(self) -> MCPHub:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        for connection in self._servers.values():
            connection.stop.set()
        assert self._group is not None
        group, self._group = self._group, None
        try:
            return await group.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as raised:
            # Server tasks never raise after start, so a group holds only the run's own error:
            # let it propagate as itself (a ConfigError stays a ConfigError for the CLI).
            if exc is not None and all(e is exc for e in raised.exceptions):
                return None
            raise

    @property
    def running(self) -> list[str]:
        return [n for n, c in self._servers.items() if c.stopped is None]

    async def tools(self, config: MCPServerConfig) -> list[Tool]:
        """The server's tools, starting it on first use (one start however many ask at once)."""
        lock = self._locks.setdefault(config.name, anyio.Lock())
        async with lock:
            connection = self._servers.get(config.name)
            if connection is None:
                connection = await self._start(config)
                self._servers[config.name] = connection
            elif connection.config != config:
                raise ConfigError(
                    f"two agents define the MCP server {config.name!r} differently",
                    field="mcp_servers",
                    fix="give the servers different names, or the same settings",
                )
        return connection.tools

    async def _start(self, config: MCPServerConfig) -> MCPConnection:
        if self._group is None:
            raise RuntimeError("MCPHub used outside `async with`")
        env = config.resolved_env()  # a missing variable is a ConfigError before any spawn
        if importlib.util.find_spec("mcp") is None:
            raise ConfigError(
                f"MCP server {config.name!r} needs the mcp SDK, which is not installed",
                field=f"mcp_servers.{config.name}",
                fix='pip install -e ".[mcp]" (from the dispatcher repository root)',
            )
        try:
            with anyio.fail_after(config.startup_timeout_s):
                connection: MCPConnection = await self._group.start(self._serve, config, env)
        except TimeoutError:
            raise ConfigError(
                f"MCP server {config.name!r} did not start within {config.startup_timeout_s:g}s",
                field=f"mcp_servers.{config.name}",
                fix="check its command runs on its own, or raise startup_timeout_s",
            ) from None
        except ConfigError:
            raise
        except Exception as exc:
            cause = _innermost(exc)
            if isinstance(cause, ConfigError):  # what we found wrong with the listed tools
                raise cause from None
            raise ConfigError(
                f"MCP server {config.name!r} could not be started: {type(cause).__name__}: "
                f"{str(cause)[:300]}",
                field=f"mcp_servers.{config.name}",
                fix="check its command, args and cwd (or its url) by running it on its own",
            ) from None
        return connection

    async def _serve(
        self,
        config: MCPServerConfig,
        env: dict[str, str],
        *,
        task_status: TaskStatus[MCPConnection] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        from mcp import Client, StdioServerParameters, stdio_client

        from dispatcher.mcp._tools import mcp_tools

        connection = MCPConnection(config)
        started = False
        # The server's stderr goes to a scratch file, not into the user's terminal or trace.
        with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
            transport: Any
            if config.command is not None:
                params = StdioServerParameters(
                    command=_command(config.command),
                    args=list(config.args),
                    env=env,
                    cwd=config.cwd,
                )
                transport = stdio_client(params, errlog=errlog)
            else:
                transport = config.url
            try:
                async with Client(transport) as client:
                    connection.client = client
                    connection.tools = mcp_tools(connection, await _list(client, config.name))
                    started = True
                    task_status.started(connection)
                    await connection.stop.wait()
            except Exception as exc:
                if not started:
                    raise
                # After start a failure is the server's problem, reported by its tool calls;
                # raising here would cancel the run's other work.
                connection.stopped = connection.stopped or f"{type(exc).__name__}: {exc}"
            finally:
                connection.stopped = connection.stopped or "stopped"


def _innermost(exc: BaseException) -> BaseException:
    """The first real error inside task-group wrappers (what the user can act on)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _command(command: str) -> str:
    """`python` is the interpreter running dispatcher, so a server sees the same packages."""
    return sys.executable if command in ("python", "python3") else command


async def _list(client: Any, server: str) -> list[Any]:
    """Every tool the server lists, page by page (a cursor given twice would loop forever)."""
    listed: list[Any] = []
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await client.list_tools(cursor=cursor)
        listed.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return listed
        if cursor in seen:
            raise ConfigError(
                f"MCP server {server!r} lists its tools page after page without end (next "
                f"cursor {cursor[:60]!r} again)",
                field=f"mcp_servers.{server}",
                fix="fix the server's tools/list paging",
            )
        seen.add(cursor)
