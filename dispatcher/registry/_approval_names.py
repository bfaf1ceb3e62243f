"""Names under `requires_approval` must name tools: a typo would leave a tool unguarded."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from dispatcher._did_you_mean import did_you_mean
from dispatcher.errors import ConfigError

__all__ = ["check_approval_names"]


def check_approval_names(
    wanted: Iterable[str],
    tools: set[str],
    servers: set[str],
    *,
    entry: str,
    file: Path | None,
    strict: bool = True,
) -> None:
    """Every name under `requires_approval` names a tool (or an MCP server's tool, known only
    once it starts): a typo would leave the tool it meant running without asking anyone.

    Not `strict` (the registry's list, a policy that may name tools no agent has yet): only
    a name close to a tool's, a likely typo, is refused."""
    for name in wanted:
        server = re.split(r"[._]", name, maxsplit=1)[0]
        if name in tools or server in servers:
            continue
        hint = did_you_mean(name, tools)
        if not strict and not hint:
            continue
        listing = ", ".join(sorted(tools)) or "(none)"
        raise ConfigError(
            f"requires_approval names no tool: {name!r}",
            file=file,
            entry=entry,
            field="requires_approval",
            fix=hint + f"use a tool name from: {listing}",
        )
