"""How an agent names an MCP server: a stdio command or a streamable HTTP URL."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, model_validator

from dispatcher._checked_model import CheckedModel
from dispatcher.errors import ConfigError
from dispatcher.redaction import register_secret

__all__ = ["MCPServerConfig", "parse_mcp_servers"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
_ENV_REF = re.compile(r"^os\.environ/([A-Za-z_][A-Za-z0-9_]*)$")


class MCPServerConfig(CheckedModel):
    """One MCP server. Exactly one of `command` (stdio) or `url` (streamable HTTP).

    `env` values must be ``os.environ/NAME`` references: a secret is never written in a config
    file, and the server process inherits only the SDK's safe variables plus these.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the server's name: tools are called <name>.<tool>")
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    timeout_s: float = Field(60.0, gt=0, description="per tool call")
    startup_timeout_s: float = Field(30.0, gt=0)
    requires_approval: tuple[str, ...] = Field(
        (), description="tool names (without the server prefix) that need a human's approval"
    )

    @model_validator(mode="after")
    def _check(self) -> MCPServerConfig:
        if not _NAME.match(self.name):
            raise ValueError(
                f"invalid MCP server name {self.name!r}: use letters, digits, '_' or '-', "
                "starting with a letter (max 32)"
            )
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (stdio) or `url` (streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        for key, value in self.env.items():
            if not _ENV_REF.match(value):
                raise ValueError(
                    f"env.{key} must be an os.environ/NAME reference, not a literal value"
                )
        return self

    def resolved_env(self) -> dict[str, str]:
        """The `env` values read from this process's environment (a missing one is an error)."""
        values: dict[str, str] = {}
        for key, ref in self.env.items():
            match = _ENV_REF.match(ref)
            assert match is not None  # checked by the validator
            value = os.environ.get(match.group(1))
            if value is None:
                raise ConfigError(
                    f"MCP server {self.name!r}: environment variable {match.group(1)} is not set",
                    field=f"mcp_servers.{self.name}.env.{key}",
                    fix=f"export {match.group(1)}=... before the run",
                )
            values[key] = value
            if _may_be_secret(value):
                # The server may print it (an error, a debug tool): redacted like a model key.
                register_secret(value)
        return values


def _may_be_secret(value: str) -> bool:
    """An `env` value is a token unless it reads as a path or a URL: those are redacted by
    pattern where they hold a password, and registering one would refuse every tool
    argument that mentions the same folder."""
    text = value.strip()
    return len(text) >= 8 and not text.startswith(("/", "./", "../", "~")) and "://" not in text


def parse_mcp_servers(raw: Any, *, where: str) -> tuple[MCPServerConfig, ...]:
    """Validate an agent's `mcp_servers` list (configs or mappings) into configs."""
    if raw is None:
        return ()
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise ConfigError(
            "mcp_servers must be a list of servers",
            entry=where,
            field="mcp_servers",
            fix="e.g. mcp_servers: [{name: files, command: python, args: [server.py]}]",
        )
    servers: list[MCPServerConfig] = []
    for index, item in enumerate(raw):
        if isinstance(item, MCPServerConfig):
            servers.append(item)
            continue
        try:
            servers.append(MCPServerConfig.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                str(first["msg"]).removeprefix("Value error, "),
                entry=where,
                field=f"mcp_servers[{index}]" + (f".{loc}" if loc else ""),
                fix="see docs/mcp.md",
            ) from None
    names = [s.name for s in servers]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise ConfigError(
            f"MCP server {duplicate!r} is listed twice",
            entry=where,
            field="mcp_servers",
            fix="give each server its own name",
        )
    return tuple(servers)
