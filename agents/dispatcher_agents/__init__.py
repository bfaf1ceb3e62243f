"""Built-in specialists (`sql_analyst`, `coder`) and the `overwatch`, registered like a user's."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dispatcher import Registry
from dispatcher.registry.agent_files import load_agent_file

__all__ = ["BUILTIN_AGENTS", "agent_files", "register"]

BUILTIN_AGENTS = ("sql_analyst", "coder", "overwatch")
# A specialist is only offered when the toolkit it works with is configured: a SQL analyst
# without a database would be a choice the dispatcher could never use.
_NEEDS_TOOLKIT = {"sql_analyst": "sql", "coder": "workspace"}


def agent_files() -> list[Path]:
    """The Markdown definitions shipped with the package."""
    folder = resources.files("dispatcher_agents") / "definitions"
    return [Path(str(folder / f"{name}.md")) for name in BUILTIN_AGENTS]


def register(registry: Registry) -> None:
    """Entry point (`dispatcher.agents`): add the built-in agents through the public seam.

    An agent the user already registered under the same name wins: built-ins never clash.
    """
    configured = registry.config.settings.toolkits
    for path in agent_files():
        agent = load_agent_file(path)
        toolkit = _NEEDS_TOOLKIT.get(agent.name)
        if toolkit is not None and toolkit not in configured:
            continue
        if agent.name not in registry.agents:
            registry.register(agent)
