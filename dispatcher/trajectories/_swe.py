"""Import coding-agent runs in mini-swe-agent and SWE-agent formats.

mini-swe-agent (``"messages"``): every assistant turn is a THOUGHT plus one ```bash block; the
next user message is the observation, ``<returncode>N</returncode>`` then the output.

- a turn with exactly one bash block is a step with ``tool="bash"``,
  ``arguments={"command": ...}``, `text` = the thought; `error` = return code != 0, or the
  command timed out; a successful command that writes files (``sed -i``, a ``>`` redirect,
  ``tee``, ``patch``, ``git apply``, ``mv``/``cp``/``rm``...) gets ``state_changed: True``
  (dispatcher.trajectories._writes),
  since these logs have no toolkit signals;
- a turn with no or several blocks is a text step (`action` = `text` = the message) with
  `error` true: the harness answered with a format error, which is what the agent saw;
- the first user message (the task) is not a step.

SWE-agent (``"trajectory"``: a list of ``{"thought", "action", "observation"}``): each entry
is a step with the command as `action` and the thought as `text` (SWE-agent 1.x's
``str_replace_editor <command> PATH`` included). SWE-agent logs carry no
return code, so `error` is read from the observation: a Python traceback, "command not
found", "No such file or directory", an edit rejected for a syntax error, or a line starting
with "Error"/"error:". A successful ``edit``/``create`` (or a shell write) is a state change.

Outcomes are not part of these logs: each record needs ``success`` (or ``resolved``, also
inside ``info``) from the benchmark's evaluation. Group: ``group``, else ``instance_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dispatcher.detectors._actions import format_action
from dispatcher.detectors.base import Step
from dispatcher.errors import DataError
from dispatcher.trajectories._labels import record_group, record_id, record_label, strong_label
from dispatcher.trajectories._model import Trajectory
from dispatcher.trajectories._openai import chat_messages, content_text, objects_only
from dispatcher.trajectories._writes import action_writes, shell_writes

__all__ = ["import_mini_swe_record", "import_swe_agent_record", "is_mini_swe"]

_BASH_BLOCK = re.compile(r"```(?:bash|sh|shell)?[ \t]*\n(.*?)\n?```", re.DOTALL)
_RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")
_TIMED_OUT = re.compile(r"timed out|timeout", re.IGNORECASE)
_SWE_ERROR = re.compile(
    r"Traceback \(most recent call last\)|command not found|No such file or directory"
    r"|Your proposed edit has introduced new syntax error|^(?:Error|error|ERROR)\b",
    re.MULTILINE,
)


def is_mini_swe(messages: list[Any]) -> bool:
    """True when assistant turns carry bash blocks rather than tool calls."""
    for message in messages:
        if isinstance(message, Mapping) and message.get("role") == "assistant":
            if message.get("tool_calls"):
                return False
            if _BASH_BLOCK.search(content_text(message.get("content"))):
                return True
    return False


def _thought(text: str, block: re.Match[str]) -> str:
    thought = text[: block.start()].strip()
    return thought.removeprefix("THOUGHT:").strip()


def import_mini_swe_record(
    record: Mapping[str, Any], position: int, file: str | Path, line: int
) -> Trajectory:
    """One run from a mini-swe-agent record (``messages`` with bash blocks)."""
    messages = chat_messages(record)
    if messages is None:
        raise DataError("expected a 'messages' list", file=file, line=line)
    objects_only(messages, file, line)
    steps: list[Step] = []
    for at, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        text = content_text(message.get("content"))
        observation = ""
        for later in messages[at + 1 :]:
            if isinstance(later, Mapping) and later.get("role") == "assistant":
                break
            if isinstance(later, Mapping) and later.get("role") in ("user", "tool"):
                observation = content_text(later.get("content"))
                break
        blocks = list(_BASH_BLOCK.finditer(text))
        if len(blocks) != 1:
            steps.append(
                Step(
                    index=len(steps),
                    action=text.strip(),
                    observation=observation,
                    error=bool(observation),
                    text=text.strip(),
                )
            )
            continue
        command = blocks[0].group(1).strip()
        code = _RETURNCODE.search(observation[:200])
        if code is not None:
            error = int(code.group(1)) != 0
        else:
            error = bool(_TIMED_OUT.search(observation[:300]))
        writes = not error and shell_writes(command)
        steps.append(
            Step(
                index=len(steps),
                action=format_action("bash", {"command": command}),
                observation=observation,
                error=error,
                tool="bash",
                arguments={"command": command},
                text=_thought(text, blocks[0]),
                signals={"state_changed": True} if writes else {},
            )
        )
    return _trajectory(record, position, file, line, steps)


def import_swe_agent_record(
    record: Mapping[str, Any], position: int, file: str | Path, line: int
) -> Trajectory:
    """One run from a SWE-agent ``.traj`` record (``trajectory`` entries)."""
    entries = record.get("trajectory")
    if not isinstance(entries, list):
        raise DataError("expected a 'trajectory' list", file=file, line=line)
    steps: list[Step] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise DataError("each trajectory entry must be an object", file=file, line=line)
        action = str(entry.get("action") or "").strip()
        observation = str(entry.get("observation") or "")
        error = bool(_SWE_ERROR.search(observation[:4000]))
        writes = not error and action_writes(action)
        steps.append(
            Step(
                index=len(steps),
                action=action,
                observation=observation,
                error=error,
                text=str(entry.get("thought") or "").strip(),
                signals={"state_changed": True} if writes else {},
            )
        )
    return _trajectory(record, position, file, line, steps)


def _trajectory(
    record: Mapping[str, Any], position: int, file: str | Path, line: int, steps: list[Step]
) -> Trajectory:
    run_id = record_id(record, position)
    return Trajectory(
        id=run_id,
        group=record_group(record, run_id),
        success=record_label(record, file, line),
        steps=tuple(steps),
        strong_success=strong_label(record),
    )
