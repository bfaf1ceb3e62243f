"""Which imported actions change the workspace: imported logs carry no toolkit signals.

A successful write is marked ``state_changed`` (and, for an editor call, its ``path``), so
re-running tests after it reads as progress, not a loop, and the coding detectors count edits:

- a shell command that writes files (``sed -i``, a ``>`` redirect, ``tee``, ``patch``,
  ``git apply``, ``mv``/``cp``/``rm``...);
- an editor tool call (OpenHands' and SWE-agent's ``str_replace_editor``, Anthropic's text
  editor, ``write_file``/``edit_file``/``apply_patch``...) other than ``view``;
- a SWE-agent action ``edit``/``create``/``insert``... or ``str_replace_editor <write> PATH``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dispatcher.detectors._actions import _COMMAND_KEYS, _SHELL_TOOLS

__all__ = ["action_writes", "call_signals", "shell_writes"]

_SHELL_WRITES = re.compile(
    r"\bsed\s+-i|\btee\b|(?<![0-9&<])>{1,2}\s*(?!&|/dev/null)[\w./~-]|\bpatch\b"
    r"|\bgit\s+(?:apply|checkout|restore|stash)\b|(?:^|[;&|]\s*)(?:mv|cp|rm|touch|mkdir)\s"
)
# Tools that edit files, by name; `command: view` on them only reads.
_EDITOR_TOOL = re.compile(
    r"(?:^|_)(?:str_replace|edit|write|create|insert|apply_patch|replace|patch|append)", re.I
)
_READ_COMMANDS = frozenset({"view", "read", "show", "list"})
_SWE_EDITS = frozenset({"edit", "create", "insert", "str_replace", "append"})
_PATH_KEYS = ("path", "file_path", "filename", "file", "target_file")


def shell_writes(command: str) -> bool:
    """Does a shell command write files?"""
    return bool(_SHELL_WRITES.search(command))


def action_writes(action: str) -> bool:
    """Does a SWE-agent action (its command line) change the workspace?"""
    words = action.split(maxsplit=2)
    program = words[0] if words else ""
    if program in _SWE_EDITS:
        return True
    if program == "str_replace_editor":
        return len(words) > 1 and words[1] not in _READ_COMMANDS
    return shell_writes(action)


def call_signals(tool: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """The signals of a successful tool call: ``state_changed`` (and ``path``) for a write."""
    leaf = tool.rsplit(".", 1)[-1].rsplit("__", 1)[-1].lower()
    arguments = arguments or {}
    if leaf in _SHELL_TOOLS:
        command = next((v for k in _COMMAND_KEYS if isinstance(v := arguments.get(k), str)), "")
        return {"state_changed": True} if shell_writes(command) else {}
    if not _EDITOR_TOOL.search(leaf):
        return {}
    sub = arguments.get("command")
    if isinstance(sub, str) and sub.lower() in _READ_COMMANDS:
        return {}
    path = next((v for k in _PATH_KEYS if isinstance(v := arguments.get(k), str) and v), None)
    return {"state_changed": True, "path": path} if path else {"state_changed": True}
