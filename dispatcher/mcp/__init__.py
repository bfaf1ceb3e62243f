"""Tools from Model Context Protocol servers (optional extra ``mcp``).

Only `MCPServerConfig` (plain pydantic) is imported eagerly; the `mcp` SDK loads when a run first
starts a server, so `import dispatcher` stays fast and works without the extra.
"""

from __future__ import annotations

from dispatcher.mcp._config import MCPServerConfig, parse_mcp_servers
from dispatcher.mcp._hub import MCPHub

__all__ = ["MCPHub", "MCPServerConfig", "parse_mcp_servers"]
