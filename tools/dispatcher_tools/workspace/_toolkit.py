"""`WorkspaceToolkit`: file tools confined to one directory, and commands run in a sandbox.

File tools are synchronous (bounded, local work); `run_command` and `run_tests` are async and
never block the event loop. Errors come back as `ToolOutput(is_error=True)` with a message that
says what to do instead, and `signals` the detectors read (`state_changed`, test counts).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shlex
import sys
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import ParamSpec

import anyio.to_thread

from dispatcher.errors import ConfigError
from dispatcher.tools.tool import Tool, ToolContext, ToolOutput
from dispatcher_tools._arguments import checked_number, checked_path
from dispatcher_tools.workspace._capture import truncation_marker
from dispatcher_tools.workspace._files import (
    PatchError,
    UnsafeFile,
    apply_patch,
    fingerprint,
    list_tree,
    read_text,
    write_text,
)
from dispatcher_tools.workspace._isolation import ISOLATION_LEVELS
from dispatcher_tools.workspace._paths import PathRejected, display, is_unicode_text, resolve_in
from dispatcher_tools.workspace._pytest_report import TestReport
from dispatcher_tools.workspace._sandbox import CommandResult, JailUnavailable, Limits, Sandbox

__all__ = ["WorkspaceToolkit"]

_PYTEST_DURATION = re.compile(r" in \d+(?:\.\d+)?s(?: \(\d+:\d+:\d+\))?(?=(?: =+)?$)", re.MULTILINE)

_MAX_LIST_ENTRIES = 400
_REMEMBERED_RUNS = 128
_P = ParamSpec("_P")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"(?i)api[_-]?key|token|secret|passw(or)?d|credential|private[_-]?key")


def _check_env(env: object) -> None:
    """Extra variables for commands: names a shell accepts, values without NUL bytes."""
    fix = "e.g. env: {APP_MODE: test}"
    if env is None:
        return
    if not isinstance(env, Mapping):
        raise ConfigError(f"must be a mapping, got {type(env).__name__}", field="env", fix=fix)
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise ConfigError(f"invalid variable name {name!r}", field="env", fix=fix)
        if not isinstance(value, str) or "\x00" in value:
            raise ConfigError(
                f"the value of {name} must be text without NUL bytes, got {value!r}",
                field=f"env.{name}",
                fix=fix,
            )


def _error(message: str, kind: str, **signals: object) -> ToolOutput:
    return ToolOutput(message, is_error=True, signals={"workspace_error": kind, **signals})


def _invalid_text(field: str) -> ToolOutput:
    return _error(
        f"{field} contains a lone surrogate (an escape such as \\ud800 that is not a character); "
        "send plain Unicode text.",
        "invalid_text",
        state_changed=False,
    )


def _reports_os_errors(method: Callable[_P, ToolOutput]) -> Callable[_P, ToolOutput]:
    """Turn an OSError (a file where a directory should be, permissions...) or a refused special
    file into a tool error."""

    @functools.wraps(method)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> ToolOutput:
        try:
            return method(*args, **kwargs)
        except UnsafeFile as exc:
            return _error(str(exc), exc.kind, state_changed=False)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return _error(f"The file operation failed: {reason}.", "os_error", state_changed=False)

    return checked


class WorkspaceToolkit:
    """Coding tools over the directory `root` (what the sandbox guarantees: the package doc).

    Args:
        command_timeout_s: Wall-clock limit per command; the process group is killed after it.
        cpu_s: CPU seconds per process (default: the command timeout).
        memory_mb: Address-space limit per process.
        file_size_mb: Largest file a command or `write_file` may create.
        max_processes: Extra processes a non-root user may start (root is exempt).
        max_output_bytes: Output kept per call; the middle is cut with a visible marker.
        isolation: ``auto`` or ``jail`` (the bubblewrap jail; refused with the install line
            when ``bwrap`` is missing), or, opting into a weaker sandbox that is no filesystem
            jail, ``namespaces``, ``network-namespace`` (at least this) or ``python-guard``.
        env: Extra environment variables for commands; secret-looking names are refused.
        sandbox_uid: When dispatcher runs as root, the uid jailed commands run as (the
            workspace is chowned to it before each command).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        command_timeout_s: float = 60.0,
        cpu_s: int | None = None,
        memory_mb: int = 2048,
        file_size_mb: int = 64,
        max_processes: int = 64,
        max_output_bytes: int = 16_000,
        isolation: str = "auto",
        env: Mapping[str, str] | None = None,
        sandbox_uid: int = 65534,
    ) -> None:
        path = checked_path(root, "root", "point `root` at an existing directory")
        if not path.is_dir():
            raise ConfigError(
                f"workspace root {str(path)!r} is not an existing directory",
                field="root",
                fix="create the directory first or point `root` at an existing one",
            )
        checked_number(command_timeout_s, "command_timeout_s", whole=False, low=0.001)
        whole_numbers = {
            "memory_mb": memory_mb,
            "file_size_mb": file_size_mb,
            "max_processes": max_processes,
            "max_output_bytes": max_output_bytes,
            "cpu_s": 1 if cpu_s is None else cpu_s,
            "sandbox_uid": sandbox_uid,
        }
        for name, value in whole_numbers.items():
            checked_number(value, name, whole=True, low=256 if name == "max_output_bytes" else 1)
        if isolation not in ("auto", *ISOLATION_LEVELS):
            raise ConfigError(
                f"unknown isolation {isolation!r}",
                field="isolation",
                fix=f"use one of: auto, {', '.join(ISOLATION_LEVELS)}",
            )
        _check_env(env)
        # run_tests runs `python -m pytest` with this interpreter: without pytest it could only
        # ever answer "No module named pytest".
        if importlib.util.find_spec("pytest") is None:
            raise ConfigError(
                f"the workspace toolkit runs tests with pytest, which {sys.executable} lacks",
                fix='pip install -e ".[workspace]" (from the dispatcher repository root)',
            )
        for name in env or {}:
            if _SECRET_NAME.search(name):
                raise ConfigError(
                    f"{name!r} looks like a secret; the sandbox never passes secrets to commands",
                    field="env",
                    fix=f"remove {name} from env",
                )
        self.root = path.resolve()
        self.file_size_bytes = file_size_mb * 1024 * 1024
        self.max_output_bytes = max_output_bytes
        limits = Limits(
            cpu_s=int(cpu_s or max(command_timeout_s, 1)),
            memory_mb=memory_mb,
            file_size_mb=file_size_mb,
            max_processes=max_processes,
        )
        try:
            self.sandbox = Sandbox(
                self.root,
                timeout_s=command_timeout_s,
                limits=limits,
                max_output_bytes=max_output_bytes,
                isolation=isolation,
                env=env,
                sandbox_uid=sandbox_uid,
            )
        except ValueError as exc:
            message, _, fix = str(exc).partition("; ")
            raise ConfigError(
                message, field="isolation", fix=fix or "use isolation: auto"
            ) from None
        self._test_states: OrderedDict[str, str] = OrderedDict()

    def tools(self) -> list[Tool]:
        """The six tools a coding agent gets, named ``workspace.*``."""
        command_timeout = self.sandbox.timeout_s + 10.0
        timeout_s = f"{self.sandbox.timeout_s:g}"
        return [
            Tool.from_function(
                self.list_files,
                name="workspace.list_files",
                description="List the files and directories of the workspace, with sizes.",
                timeout_s=30.0,
            ),
            Tool.from_function(
                self.read_file,
                name="workspace.read_file",
                description="Read a text file of the workspace.",
                timeout_s=30.0,
            ),
            Tool.from_function(
                self.write_file,
                name="workspace.write_file",
                description="Create a file, or replace a file's whole content.",
                timeout_s=30.0,
            ),
            Tool.from_function(
                self.patch_file,
                name="workspace.patch_file",
                description="Edit a file: replace old_text, which must appear exactly once in "
                "the file (copy it exactly, with its indentation), by new_text.",
                timeout_s=30.0,
                idempotent=False,
            ),
            Tool.from_function(
                self.run_command,
                name="workspace.run_command",
                description=f"Run a shell command in the workspace (no network, {timeout_s} s "
                "limit) and get its exit code and output.",
                timeout_s=command_timeout,
                idempotent=False,
            ),
            Tool.from_function(
                self.run_tests,
                name="workspace.run_tests",
                description="Run the tests with pytest and get the passed and failed counts "
                "and the output.",
                timeout_s=command_timeout,
            ),
        ]

    # -- file tools ------------------------------------------------------------------------

    @_reports_os_errors
    def list_files(self, path: str = ".") -> ToolOutput:
        """List files recursively.

        Args:
            path: Directory relative to the workspace root; '.' is the root.
        """
        try:
            base = resolve_in(self.root, path)
        except PathRejected as exc:
            return _error(str(exc), exc.kind)
        if not base.is_dir():
            return _error(f"{path!r} is not a directory in the workspace.", "not_found")
        entries, skipped = list_tree(base, self.root, max_entries=_MAX_LIST_ENTRIES)
        if skipped:
            entries.append(f"[... {skipped} more entries not shown; list a subdirectory ...]")
        return ToolOutput(
            "\n".join(entries) or "(empty directory)", signals={"files": len(entries)}
        )

    @_reports_os_errors
    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> ToolOutput:
        """Read a text file.

        Args:
            path: File path relative to the workspace root.
            start_line: First line to show (1-based).
            end_line: Last line to show (inclusive); omit to read to the end.
        """
        try:
            location = resolve_in(self.root, path)
        except PathRejected as exc:
            return _error(str(exc), exc.kind)
        if not os.path.lexists(location):
            return _error(
                f"No file {path!r} in the workspace. Use workspace.list_files to see the files.",
                "not_found",
            )
        text = read_text(self.root, location, max_bytes=self.file_size_bytes)
        if text is None:
            return _error(f"{path!r} is a binary file; only text files can be read.", "binary")
        lines = text.splitlines(keepends=True)
        first = max(start_line, 1)
        last = len(lines) if end_line is None else min(end_line, len(lines))
        if (end_line is not None and end_line < first) or (lines and first > len(lines)):
            return _error(
                f"No lines {start_line}-{'end' if end_line is None else end_line} in {path!r}: "
                f"it has {len(lines)} lines, numbered from 1; end_line must not be below "
                "start_line.",
                "bad_range",
            )
        body = "".join(lines[first - 1 : last])
        data = body.encode()
        note = ""
        if len(data) > self.max_output_bytes:
            body = data[: self.max_output_bytes].decode(errors="ignore")
            shown_to = first + body.count("\n") - 1
            note = truncation_marker(len(data) - self.max_output_bytes) + (
                f"[showing lines {first}-{shown_to} of {len(lines)}; use start_line to read on]"
            )
        elif first > 1 or last < len(lines):
            note = f"\n[lines {first}-{last} of {len(lines)}]"
        return ToolOutput(body + note, signals={"path": display(self.root, location)})

    @_reports_os_errors
    def write_file(self, path: str, content: str) -> ToolOutput:
        """Write a whole file.

        Args:
            path: File path relative to the workspace root; parent directories are created.
            content: The complete new content of the file.
        """
        try:
            location = resolve_in(self.root, path)
        except PathRejected as exc:
            return _error(str(exc), exc.kind, state_changed=False)
        if not is_unicode_text(content):
            return _invalid_text("content")
        size = len(content.encode())
        if size > self.file_size_bytes:
            return _error(
                f"The content is {size} bytes; files are limited to {self.file_size_bytes} bytes.",
                "too_large",
                state_changed=False,
            )
        if location.is_dir():
            return _error(f"{path!r} is a directory.", "is_directory", state_changed=False)
        existed = os.path.lexists(location)
        try:
            previous = read_text(self.root, location, max_bytes=size) if existed else None
        except UnsafeFile as exc:
            if exc.kind != "too_large":
                raise
            previous = None  # larger than the new content: it differs, no need to read it
        rel = display(self.root, location)
        if previous == content:
            return ToolOutput(
                f"{rel} unchanged: it already has this content.",
                signals={"state_changed": False, "path": rel},
            )
        write_text(self.root, location, content)
        what = "updated" if existed else "created"
        return ToolOutput(
            f"Wrote {size} bytes to {rel} ({what}).", signals={"state_changed": True, "path": rel}
        )

    @_reports_os_errors
    def patch_file(self, path: str, old_text: str, new_text: str) -> ToolOutput:
        """Replace one exact piece of text in a file.

        Args:
            path: File path relative to the workspace root.
            old_text: Text to replace, copied exactly; it must appear exactly once.
            new_text: The replacement text.
        """
        try:
            location = resolve_in(self.root, path)
        except PathRejected as exc:
            return _error(str(exc), exc.kind, state_changed=False)
        if not (is_unicode_text(old_text) and is_unicode_text(new_text)):
            return _invalid_text("old_text or new_text")
        if not location.is_file():
            return _error(
                f"No file {path!r} in the workspace. Use workspace.write_file to create it.",
                "not_found",
                state_changed=False,
            )
        text = read_text(self.root, location, max_bytes=self.file_size_bytes)
        if text is None:
            return _error(f"{path!r} is a binary file.", "binary", state_changed=False)
        rel = display(self.root, location)
        try:
            patched = apply_patch(text, old_text, new_text, name=rel)
        except PatchError as exc:
            return _error(str(exc), f"patch_{exc.kind}", state_changed=False, path=rel)
        if patched.text == text:
            return ToolOutput(
                f"{rel} unchanged: new_text equals old_text.",
                signals={"state_changed": False, "path": rel},
            )
        write_text(self.root, location, patched.text)
        return ToolOutput(
            f"Patched {rel} at line {patched.line}: replaced {old_text.count(chr(10)) + 1} "
            f"line(s) with {new_text.count(chr(10)) + 1}.",
            signals={"state_changed": True, "path": rel},
        )

    # -- command tools ---------------------------------------------------------------------

    async def run_command(self, command: str) -> ToolOutput:
        """Run a shell command.

        Args:
            command: A shell command line run with /bin/sh in the workspace root.
        """
        before = await anyio.to_thread.run_sync(fingerprint, self.root)
        try:
            result = await self.sandbox.run(["/bin/sh", "-c", command])
        except JailUnavailable as exc:
            return _error(f"Commands cannot run here: {exc}", "jail_unavailable")
        after = await anyio.to_thread.run_sync(fingerprint, self.root)
        return ToolOutput(
            f"{result.status_line()}\n{result.output or '(no output)'}",
            is_error=not result.ok,
            signals={
                "exit_code": result.exit_code,
                "timed_out": result.timed_out,
                "state_changed": before != after,
            },
        )

    async def run_tests(self, args: str = "", context: ToolContext | None = None) -> ToolOutput:
        """Run pytest.

        Args:
            args: Optional pytest arguments, e.g. 'tests/test_app.py -x'; empty runs all tests.
        """
        try:
            argv = shlex.split(args)
        except ValueError as exc:
            return _error(f"Cannot parse args: {exc}. Quote arguments properly.", "bad_args")
        state = await anyio.to_thread.run_sync(fingerprint, self.root)
        run_id = context.run_id if context else ""
        changed = self._test_states.get(run_id) != state
        self._test_states[run_id] = state
        self._test_states.move_to_end(run_id)
        while len(self._test_states) > _REMEMBERED_RUNS:
            self._test_states.popitem(last=False)
        try:
            report = await self.pytest(argv)
        except JailUnavailable as exc:
            return _error(f"Tests cannot run here: {exc}", "jail_unavailable")
        result = report.result
        summary = f"{report.passed} passed, {report.failed} failed, {report.errors} errors"
        # pytest's closing line carries the duration: drop it so identical results read alike
        # (the stall detector compares observations, and replays stay deterministic).
        output = _PYTEST_DURATION.sub("", result.output)
        return ToolOutput(
            f"{summary}; {result.status_line()}\n{output}",
            is_error=not report.ok,
            # state_changed: did the code change since this run's previous test run?
            signals={
                "tests_passed": report.passed,
                "tests_failed": report.failed + report.errors,
                "tests_errors": report.errors,
                "exit_code": result.exit_code,
                "timed_out": result.timed_out,
                "state_changed": changed,
            },
        )

    # -- API for gates and callers ---------------------------------------------------------

    async def pytest(self, args: Sequence[str] = ()) -> TestReport:
        """Run ``python -m pytest -q`` in the sandbox and parse its counts."""
        result = await self.sandbox.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
        )
        return TestReport.from_result(result)

    async def command(self, argv: Sequence[str]) -> CommandResult:
        """Run `argv` (no shell) in the sandbox."""
        return await self.sandbox.run(argv)
