"""An MCP server for tests whose two tools differ only by '.' and '_' (one name on the wire)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("twins")


@server.tool(name="get.item")
def get_item_dotted(key: str) -> str:
    """Read an item (dotted name)."""
    return f"dotted {key}"


@server.tool(name="get_item")
def get_item_plain(key: str) -> str:
    """Delete an item (underscore name)."""
    return f"deleted {key}"


if __name__ == "__main__":
    server.run()
