"""What kind of action a step is: navigation, escalation, or anything else.

Navigation (looking around without acting: grep, find, ls, cat, view, search, list files,
open, get_* lookups) is treated as one class by the navigation-streak detector, so an agent
that greps for one name, then finds another file, then lists a folder, is seen as doing the
same thing. Classification is by tool name, or for shell tools by the command's programs, and
is cached per distinct name so it costs a dictionary lookup per step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "NAVIGATION_COMMANDS",
    "NAVIGATION_TOOL_PREFIXES",
    "ActionClassifier",
    "format_action",
    "split_action",
]

# Programs that only look: a shell command made only of these is navigation.
NAVIGATION_COMMANDS = frozenset(
    {
        "ag", "cat", "find", "find_file", "fd", "file", "git-grep", "goto", "grep", "head",
        "less", "ll", "locate", "ls", "more", "nl", "open", "pwd", "rg", "scroll_down",
        "scroll_up", "search", "search_dir", "search_file", "stat", "tail", "tree", "view",
        "wc", "which",
    }
)  # fmt: skip

# Tool names (after any namespace such as ``workspace.``) that only look things up.
NAVIGATION_TOOL_PREFIXES = (
    "cat", "describe", "fetch", "find", "get", "glob", "grep", "inspect", "list", "lookup",
    "ls", "open", "read", "search", "show", "view",
)  # fmt: skip

# An editor tool's `command` argument (or sub-command) that only reads.
_VIEW_COMMANDS = frozenset({"view"})
# Tools that hand the task to someone else (an overwatch, a human, another agent).
_ESCALATION_TOOL = re.compile(r"escalat|transfer|handoff|hand_off|human|overwatch", re.I)
# Tools that run a shell command given in their arguments.
_SHELL_TOOLS = frozenset(
    {"bash", "shell", "sh", "terminal", "execute_bash", "run_command", "run_shell", "exec",
     "execute", "cmd", "command", "run"}
)  # fmt: skip
_COMMAND_KEYS = ("command", "cmd", "script", "code", "input")
_SEGMENT_SPLIT = re.compile(r"&&|\|\||[;|\n]")
_CALL_HEAD = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(?:\(|\{|:\s)")


def format_action(tool: str, arguments: Any) -> str:
    """The canonical action text of a tool call, as the worker loop writes it."""
    if isinstance(arguments, Mapping):
        text = json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    elif isinstance(arguments, str):
        text = arguments
    else:
        text = json.dumps(arguments, ensure_ascii=False) if arguments is not None else ""
    return f"{tool}({text})"


def split_action(action: str) -> tuple[str | None, str]:
    """Split action text such as ``grep({"q": "x"})`` or ``bash: ls`` into (tool, rest).

    Returns ``(None, action)`` when the text does not start with a call-like head (a bare shell
    command such as ``ls -la``, or an assistant message).
    """
    match = _CALL_HEAD.match(action)
    if match is None:
        return None, action
    rest = action[match.end() :]
    if action[match.end() - 1] == "(":
        rest = "(" + rest
        rest = rest[1:-1] if rest.endswith(")") else rest[1:]
    elif action[match.end() - 1] == "{":
        rest = "{" + rest
    return match.group(1), rest.strip()


def _leaf(tool: str) -> str:
    return tool.rsplit(".", 1)[-1].rsplit("__", 1)[-1].lower()


def _command_is_navigation(command: str, extra: frozenset[str]) -> bool:
    segments = [seg.strip() for seg in _SEGMENT_SPLIT.split(command[:400]) if seg.strip()]
    if not segments:
        return False
    for segment in segments:
        words = segment.split()
        while words and "=" in words[0] and not words[0].startswith("="):
            words = words[1:]  # VAR=value prefixes
        if not words:
            return False
        program = words[0].rsplit("/", 1)[-1]
        if program == "cd":
            continue
        if program == "sed":
            # `sed -n 1,20p file` reads; `sed -i` edits.
            if "-n" not in words[1:3] or any(w.startswith("-i") for w in words[1:]):
                return False
            continue
        if program == "git" and len(words) > 1 and words[1] in {"grep", "log", "show", "diff"}:
            continue
        if program == "str_replace_editor" and len(words) > 1 and words[1] in _VIEW_COMMANDS:
            continue  # SWE-agent 1.x: `str_replace_editor view PATH`
        if program not in NAVIGATION_COMMANDS and program not in extra:
            return False
        if any(">" in w for w in words):  # a redirection writes a file
            return False
    return True


class ActionClassifier:
    """Decides whether a step navigates or escalates; caches per tool name and command head."""

    __slots__ = ("_cache", "_extra_commands", "_extra_prefixes")

    def __init__(self, extra_navigation: Iterable[str] = ()) -> None:
        extra = tuple(name.lower() for name in extra_navigation)
        self._extra_prefixes = extra
        self._extra_commands = frozenset(extra)
        self._cache: dict[str, tuple[bool, bool, bool]] = {}

    def _tool_kind(self, tool: str) -> tuple[bool, bool, bool]:
        """(navigation, escalation, shell) for a tool name."""
        kind = self._cache.get(tool)
        if kind is None:
            leaf = _leaf(tool)
            prefixes = NAVIGATION_TOOL_PREFIXES + self._extra_prefixes
            navigation = leaf in NAVIGATION_COMMANDS or leaf.startswith(prefixes)
            shell = leaf in _SHELL_TOOLS
            # Wire names flatten namespaces (`workspace.read_file` -> `workspace_read_file`):
            # look at the rest too, but only when it is itself a compound name.
            rest = leaf.split("_", 1)[1] if "_" in leaf else ""
            if "_" in rest:
                navigation = navigation or rest.startswith(tuple(p + "_" for p in prefixes))
                shell = shell or rest in _SHELL_TOOLS
            kind = (navigation, bool(_ESCALATION_TOOL.search(leaf)), shell)
            if len(self._cache) < 4096:
                self._cache[tool] = kind
        return kind

    def classify(
        self, tool: str | None, arguments: Mapping[str, Any] | None, action: str
    ) -> tuple[bool, bool]:
        """(navigation, escalation) for one step."""
        rest = ""
        if tool is None:
            tool, rest = split_action(action)
            if tool is None:  # a bare shell command
                return _command_is_navigation(action, self._extra_commands), False
        navigation, escalation, shell = self._tool_kind(tool)
        if not shell:
            # An editor tool asked to `view` (OpenHands', SWE-agent's str_replace_editor) reads.
            viewing = arguments is not None and arguments.get("command") in _VIEW_COMMANDS
            return navigation or viewing, escalation
        command = rest
        if arguments is not None:
            command = next((v for k in _COMMAND_KEYS if isinstance(v := arguments.get(k), str)), "")
        else:
            if not rest:  # the live worker keeps only the canonical JSON, inside `action`
                rest = split_action(action)[1]
            command = _json_command(rest) if rest.startswith("{") else rest
        return _command_is_navigation(command, self._extra_commands), escalation


def _json_command(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, dict):
        return next((v for k in _COMMAND_KEYS if isinstance(v := value.get(k), str)), "")
    return ""
