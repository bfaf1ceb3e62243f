"""Checks every adapter runs on a ModelRequest before mapping it to a wire format."""

from __future__ import annotations

from dispatcher.errors import ConfigError
from dispatcher.messages import ForcedTool, ModelRequest

__all__ = ["check_tool_choice"]


def check_tool_choice(request: ModelRequest) -> None:
    """A forced or required tool call without tools is a caller mistake, not a provider error."""
    choice = request.tool_choice
    if not request.tools and (choice == "required" or isinstance(choice, ForcedTool)):
        raise ConfigError(
            f"tool_choice {choice!r} needs at least one tool, but the request has none",
            fix="pass the tools in ModelRequest.tools or use tool_choice='auto'",
        )
