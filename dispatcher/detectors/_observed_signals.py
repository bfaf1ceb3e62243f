"""Domain progress signals read from an observation's text, for steps no toolkit annotated.

Runs imported from other agents carry only text, while the detectors read progress facts from
`Step.signals`. This module finds the facts that are plainly there, at bounded cost:

- test summaries in the last 1 kB: pytest's ``== 3 failed, 12 passed in 1.2s ==`` (with or
  without bars, also under tox/nox, ``no tests ran``) and unittest's ``Ran 14 tests`` then
  ``OK`` or ``FAILED (failures=2, errors=1)`` -> ``tests_failed`` (failures + errors) and
  ``tests_passed``; the last summary wins;
- SQL errors of SQLite, PostgreSQL and MySQL in the first 512 characters, or in the line
  that ends a traceback -> ``sql_error``, in the SQL toolkit's classes (syntax, unknown_table,
  unknown_column, timeout, denied, multiple_statements, other; see `_observed_sql`);
- ``<returncode>N</returncode>`` (mini-swe-agent) or ``exit code N`` near either end ->
  ``exit_code``;
- a Python traceback ending in the last 1 kB -> ``exception``, the class name on the line
  after its last ``File "..."`` frame (so a traceback longer than the window still counts).

The work per step is bounded whatever the observation's size: a substring scan costs about
0.5 ns per character on the project's machine, and text that states none of these facts is
rejected by about fifteen scans of at most 1 kB each before any regex runs (a few us per step:
fine for importing runs, too much for the worker loop, whose toolkits report signals anyway).
Summaries, tracebacks and SQL errors sit at these ends of an output: tox, Django and agent
harnesses add a few lines after a summary, far less than 1 kB.

A test summary must fill a whole line, so prose ("I passed the test to the function") never
counts. Output of commands that only show files (``cat``, ``grep``, ``git diff``,
SWE-agent's ``open``...) yields the exit code only: a log that quotes a summary is not a test
run. Toolkit signals win: `with_observed_signals` fills a group of keys (test counts, SQL
outcome, exit code, exception) only when the step has none of that group's keys.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from dispatcher.detectors._actions import (
    _SHELL_TOOLS,
    _command_is_navigation,
    _json_command,
    split_action,
)
from dispatcher.detectors._observed_sql import sql_error_class
from dispatcher.detectors.base import Step

__all__ = ["signals_from_observation", "with_observed_signals"]

_TAIL = 1024  # test summaries and tracebacks end an output
_HEAD = 512  # SQL clients report an error first
_EDGE = 256  # exit codes are announced at the start or the end

# A found key is dropped when the step's own signals hold any key of its group.
_GROUPS: dict[str, tuple[str, ...]] = {
    "tests_failed": ("tests_failed", "tests_passed", "tests_errors"),
    "tests_passed": ("tests_failed", "tests_passed", "tests_errors"),
    "sql_error": ("sql_error", "rows_hash"),
    "exit_code": ("exit_code",),
    "exception": ("exception",),
}

# -- tests -------------------------------------------------------------------------------------

_WORD = (
    r"(?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?|rerun"
    r"|subtests (?:passed|failed|skipped))"
)
_PYTEST_LINE = re.compile(
    rf"=*\s*(?P<counts>\d+ {_WORD}(?:, \d+ {_WORD})*|no tests ran)"
    r"(?: in \d+(?:\.\d+)? ?s(?:econds)?(?: \(\d+:\d\d:\d\d\))?)?\s*=*"
)
_PYTEST_COUNT = re.compile(rf"(\d+) ({_WORD})")
# Every summary that counts an outcome has one of these ("5 skipped" alone says nothing).
_PYTEST_WORDS = (" passed", " failed", " error", "no tests ran")
_RAN = re.compile(r"Ran (\d+) tests? in \d")
_UNITTEST_STATUS = re.compile(r"^(OK|FAILED)(?: \(([^)\n]*)\))?[ \t]*$", re.MULTILINE)
_UNITTEST_COUNT = re.compile(
    r"(failures|errors|skipped|expected failures|unexpected successes)=(\d+)"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _line_at(text: str, pos: int) -> tuple[int, str]:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return start, text[start : end if end >= 0 else len(text)]


def _pytest_counts(line: str) -> tuple[int, int] | None:
    """(failed + errors, passed) when the line is a pytest summary, else None."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    match = _PYTEST_LINE.fullmatch(line.strip())
    if match is None:
        return None
    failed = passed = 0
    for number, word in _PYTEST_COUNT.findall(match["counts"]):
        if word in ("failed", "error", "errors"):
            failed += int(number)
        elif word == "passed":
            passed += int(number)
    return failed, passed


def _last_pytest(tail: str) -> tuple[int, tuple[int, int]] | None:
    """(line start, counts) of the last pytest summary line in `tail`."""
    best: tuple[int, tuple[int, int]] | None = None
    best_end = -1
    for word in _PYTEST_WORDS:
        pos = tail.rfind(word)
        while pos > best_end:
            start, line = _line_at(tail, pos)
            # A count word right after a digit: a cheap test that skips prose and JSON.
            if word[0] == "n" or (pos > 0 and tail[pos - 1].isdigit()):
                counts = _pytest_counts(line)
                if counts is not None:
                    best, best_end = (start, counts), start + len(line)
                    break
            pos = tail.rfind(word, 0, start)
    return best


def _last_unittest(tail: str) -> tuple[int, tuple[int, int]] | None:
    """(position, counts) of the last unittest ``Ran N tests`` with its OK/FAILED line."""
    pos = tail.rfind("Ran ")
    while pos >= 0:
        ran = _RAN.match(tail, pos)
        if ran is not None and (pos == 0 or tail[pos - 1] == "\n"):
            status = _UNITTEST_STATUS.search(tail, ran.end(), ran.end() + 300)
            if status is None:
                return None
            counts = {k: int(v) for k, v in _UNITTEST_COUNT.findall(status[2] or "")}
            failed = counts.get("failures", 0) + counts.get("errors", 0)
            failed += counts.get("unexpected successes", 0)
            not_passed = failed + counts.get("skipped", 0) + counts.get("expected failures", 0)
            return pos, (failed, max(int(ran[1]) - not_passed, 0))
        pos = tail.rfind("Ran ", 0, pos)
    return None


def _tests(tail: str) -> tuple[int, int] | None:
    found = [f for f in (_last_pytest(tail), _last_unittest(tail)) if f is not None]
    return max(found)[1] if found else None


# -- exit code and exception -------------------------------------------------------------------

_RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")
_EXIT_CODE = re.compile(r"[Ee]xit code:?\s*(-?\d+)")
_FRAME = '  File "'  # a traceback frame; the exception line follows the last one
_EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*)(?::\s|:?\s*$)")


def _exit_code(observation: str) -> int | None:
    if "<returncode>" in observation[:64]:  # mini-swe-agent starts each observation with it
        match = _RETURNCODE.search(observation, 0, _EDGE)
        if match is not None:
            return int(match[1])
    for edge in (observation[-_EDGE:], observation[:_EDGE]):  # a trailing status wins
        if "xit code" in edge:
            codes = _EXIT_CODE.findall(edge)
            if codes:
                return int(codes[-1])
    return None


def _exception(text: str) -> tuple[str, str] | None:
    """(class name, its line) of the traceback that ends in `text`."""
    pos = text.rfind(_FRAME)
    if pos < 0:
        return None
    for line in text[pos:].split("\n")[1:]:
        if not line or line[0] in " \t":  # source lines and ^^^ markers are indented
            continue
        match = _EXCEPTION_LINE.match(line)
        return (match[1].rsplit(".", 1)[-1], line) if match else None
    return None


# -- putting it together -----------------------------------------------------------------------


# File viewers by tool name (SQL tools such as ``read_query`` are not among them).
_VIEW_TOOL = re.compile(
    r"(?:^|[._])(?:read_(?:many_)?files?|view|open|cat|grep|glob|find_files?|search_(?:file|dir)"
    r"|list_(?:dir|files)|ls)(?:_|$)",
    re.IGNORECASE,
)


def _shows_files(action: str) -> bool:
    """True when the action only displays files or searches them (cat, grep, open, view...)."""
    tool, rest = split_action(action)
    if tool is None:
        return _command_is_navigation(action, frozenset())
    if _VIEW_TOOL.search(tool) is not None:
        return True
    if rest.startswith("{"):  # a shell or an editor tool: look at its command argument
        command = _json_command(rest)
        return bool(command) and _command_is_navigation(command, frozenset())
    return tool.rsplit(".", 1)[-1].lower() in _SHELL_TOOLS and _command_is_navigation(
        rest, frozenset()
    )


def signals_from_observation(observation: str, action: str = "") -> dict[str, Any]:
    """The progress facts an observation's text states (see the module docstring)."""
    if not observation:
        return {}
    found: dict[str, Any] = {}
    code = _exit_code(observation)
    if code is not None:
        found["exit_code"] = code
    content: dict[str, Any] = {}
    tail = observation[-_TAIL:]
    # Substring gates first: most observations state none of these facts.
    end = tail[-_EDGE:]
    # An errors-only or empty summary ends pytest's output; unittest's status follows "Ran".
    if (
        " passed" in tail
        or " failed" in tail
        or " error" in end
        or "no tests ran" in end
        or "Ran " in tail[-2 * _EDGE :]
    ):
        tests = _tests(tail)
        if tests is not None:
            content["tests_failed"], content["tests_passed"] = tests
    exception = _exception(tail)
    if exception is not None:
        content["exception"] = exception[0]
    head = observation[:_HEAD]
    sql = sql_error_class(head)
    if sql is None and exception is not None:
        sql = sql_error_class(exception[1])
    if sql is not None:
        content["sql_error"] = sql
    if content and not (action and _shows_files(action)):
        found.update(content)
    return found


def with_observed_signals(step: Step) -> Step:
    """The step with the signals its observation states added; toolkit signals win."""
    found = signals_from_observation(step.observation, step.action)
    own = step.signals
    if own:
        found = {k: v for k, v in found.items() if not any(g in own for g in _GROUPS[k])}
    if not found:
        return step
    return replace(step, signals={**found, **own})
