"""What a step means for coding work: a test run (passed or not), an edit, a finish, files.

Read from the toolkit's signals when it reports them (the workspace toolkit's
``tests_failed``/``tests_passed``, ``state_changed`` and ``path``), else from the shell command
of imported logs (``pytest``, ``python reproduce_issue.py``, ``sed -i``, mini-swe-agent's
``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT``). Uncertainty words in the agent's own text
("however", "might", "wait") are counted here too: in coding runs they mark a model that is
not sure of its fix, and they are the earliest general signal we measured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.detectors._actions import _SHELL_TOOLS, split_action
from dispatcher.detectors.base import Step

__all__ = ["HEDGE_WORDS", "CodingFacts", "coding_facts", "count_hedges"]

# Words of doubt or second thoughts in the agent's reasoning (measured on SWE-bench runs:
# every one of these alone separates failed from resolved runs at step 20 better than chance).
HEDGE_WORDS = re.compile(
    r"\b(?:however|but|wait|actually|might|maybe|seems|still|again|not sure|unclear"
    r"|unexpected(?:ly)?)\b",
    re.IGNORECASE,
)
_TEST_COMMAND = re.compile(
    r"\b(?:pytest|py\.test|tox|nox|runtests\.py|unittest|manage\.py\s+test|go\s+test"
    r"|cargo\s+test|npm\s+(?:run\s+)?test|python[\d.]*\s+(?:-\w+\s+)*\S*"
    r"(?:test|repro|reproduce|verify|check)\w*\.py)",
    re.IGNORECASE,
)
_FINISH_COMMAND = re.compile(r"COMPLETE_TASK_AND_SUBMIT|^\s*submit\s*$", re.MULTILINE)
_FINISH_TOOLS = frozenset(
    {"finish", "submit", "final_answer", "done", "complete_task", "attempt_completion"}
)
_TEST_TOOL = re.compile(r"(?:^|[._])(?:run_)?tests?(?:$|[._])", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w/.-])(?:[\w-]+/)*[\w-]+\.(?:py|pyi|js|ts|go|rs|rb|java|c|h|cpp)\b")
# Tidying up is not a code change: removing scratch files, reverting a file.
_CLEANUP = re.compile(r"^(?:rm\b|git\s+(?:checkout|restore|stash|clean)\b|cd\b)")
# Throw-away scripts next to the code (reproduce_issue.py, test_fix.py, debug.py, check_x.py).
_SCRATCH = re.compile(r"^(?:repro|reproduce|debug|check|verify|scratch|tmp|temp|test)\w*\.py$")
_DOCS = re.compile(r"\.(?:txt|rst|md|cfg|toml|ini|ya?ml|json)\b")
_SEGMENTS = re.compile(r"&&|\|\||[;\n]")
_COMMAND_KEYS = ("command", "cmd", "script", "code", "input")
_TEXT_CHARS = 2000


@dataclass(frozen=True, slots=True)
class CodingFacts:
    """Coding facts of one step; `test_passed` is None when the step ran no test."""

    test_run: bool
    test_passed: bool | None
    edit: bool
    finish: bool
    files: tuple[str, ...]


def count_hedges(text: str) -> int:
    """Uncertainty words in (the first 2000 characters of) the agent's text."""
    return len(HEDGE_WORDS.findall(text[:_TEXT_CHARS])) if text else 0


def _command(step: Step) -> str:
    if step.tool is not None and not _is_shell(_leaf(step.tool)):
        return ""  # only shell commands are read (and a file write's content is never parsed)
    arguments = step.call_arguments()
    if arguments is not None:
        for key in _COMMAND_KEYS:
            value = arguments.get(key)
            if isinstance(value, str):
                return value
        return ""
    if step.tool is None:
        if step.action == step.text:  # a text turn, not a command
            return ""
        tool, rest = split_action(step.action)
        return rest if tool is not None else step.action
    return ""


def _is_shell(leaf: str) -> bool:
    # Wire names flatten namespaces: `workspace.run_command` is sent as `workspace_run_command`.
    return leaf in _SHELL_TOOLS or leaf.partition("_")[2] in _SHELL_TOOLS


def _leaf(tool: str | None) -> str:
    return (tool or "").rsplit(".", 1)[-1].rsplit("__", 1)[-1].lower()


def coding_facts(step: Step, error: bool) -> CodingFacts:
    """The coding facts of `step`; `error` is the step's failure as the digest decided it."""
    signals: Mapping[str, Any] = step.signals or {}
    command = _command(step)[:2000]
    leaf = _leaf(step.tool)
    finish = leaf in _FINISH_TOOLS or bool(command and _FINISH_COMMAND.search(command))
    has_counts = "tests_failed" in signals or "tests_passed" in signals
    test_run = not finish and (
        has_counts or bool(_TEST_TOOL.search(leaf)) or bool(_TEST_COMMAND.search(command))
    )
    passed: bool | None = None
    if test_run:
        failed = signals.get("tests_failed")
        ran = signals.get("tests_passed")
        if isinstance(failed, int | float) and isinstance(ran, int | float):
            passed = failed == 0 and ran > 0
        else:
            passed = not error
    text_turn = step.tool is None and step.action == step.text
    edit = signals.get("state_changed") is True and not (test_run or finish or text_turn)
    files: tuple[str, ...] = ()
    if edit:
        path = signals.get("path")
        if isinstance(path, str) and path:
            files = (path,)
        else:
            files = tuple(sorted(set(_PATH.findall(command))))[:8]
            prose = not files and bool(_DOCS.search(command))
            edit = not _cleanup(command) and not prose and not all(map(_scratch, files or ("",)))
    return CodingFacts(test_run, passed, edit, finish, files if edit else ())


def _cleanup(command: str) -> bool:
    segments = [seg.strip() for seg in _SEGMENTS.split(command) if seg.strip()]
    return bool(segments) and all(_CLEANUP.match(seg) for seg in segments)


def _scratch(path: str) -> bool:
    if not path:  # no file named: an edit we cannot place counts as a code change
        return False
    return "/" not in path and bool(_SCRATCH.match(path))
