"""An MCP server for tests: echo, a tool that kills the process, and a typed tool."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("crashy")


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return f"echo: {text}"


@server.tool()
def die() -> str:
    """Exit the server process at once."""
    os._exit(3)


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    _note(f"add {a} {b}")
    return str(a + b)


@server.tool()
async def slow() -> str:
    """Note the process id in the log, then take a minute."""
    import anyio

    _note(f"pid {os.getpid()}")
    await anyio.sleep(60)
    return "finally"


@server.tool()
def show_env(name: str) -> str:
    """Print one of the server's environment variables (a server that echoes its token)."""
    return os.environ.get(name, "")


@server.tool()
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


def _note(line: str) -> None:
    with open(os.environ["CRASHY_LOG"], "a", encoding="utf-8") as log:
        log.write(line + "\n")


if __name__ == "__main__":
    server.run()
