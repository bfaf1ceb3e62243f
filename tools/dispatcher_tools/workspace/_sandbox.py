"""Run a command in the workspace jail with resource limits, a wall-clock timeout, no network
and an environment built from scratch (no inherited secrets).

The command starts in a new session, so its process group id is its pid: the timeout, a
cancelled caller and normal completion all end with ``killpg(SIGKILL)`` for that group, so no
child or grandchild outlives the call (in the ``namespaces`` isolation the PID namespace also
takes down processes that left the group with ``setsid``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.abc
import anyio.to_thread

from dispatcher_tools.workspace._capture import OutputCapture
from dispatcher_tools.workspace._isolation import GUARD_SITE_DIR, Isolation, detect_isolation
from dispatcher_tools.workspace._jail import (
    BWRAP_INSTALL_HINT,
    JailUnavailable,
    hand_workspace_to,
    jail_prefix,
    probe_jail,
    seccomp_fd,
    unsafe_workspace,
    with_seccomp,
    workspace_uid,
)

__all__ = ["CommandResult", "JailUnavailable", "Limits", "Sandbox", "sandbox_environment"]

_LAUNCHER = Path(__file__).with_name("_launcher.py")
_DRAIN_GRACE_S = 1.0  # after exit, how long output may still arrive from killed children
_SIGNAL_HINTS = {
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "file size limit exceeded",
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault, possibly the memory limit",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-command resource limits (applied with setrlimit before exec)."""

    cpu_s: int
    memory_mb: int
    file_size_mb: int
    max_processes: int


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command did: exit code (None if killed at the timeout) and its capped output."""

    exit_code: int | None
    output: str
    timed_out: bool
    truncated_bytes: int
    duration_s: float
    timeout_s: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def status_line(self) -> str:
        """One line a small model understands: exit code, and why a process died."""
        if self.timed_out:
            return (
                f"timed out after {self.timeout_s:g} s: the command and all its child processes "
                "were killed"
            )
        code = self.exit_code if self.exit_code is not None else -1
        signum = -code if code < 0 else code - 128 if code > 128 else 0
        try:
            name = signal.Signals(signum).name if signum else ""
        except ValueError:
            name = ""
        if name:
            hint = _SIGNAL_HINTS.get(signal.Signals(signum), "")
            return f"exit code {code} (killed by {name}{': ' + hint if hint else ''})"
        return f"exit code {code}"


def sandbox_environment(
    root: Path, isolation: Isolation, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A minimal environment built from nothing, so no API key or token can leak in."""
    env = {
        # The interpreter's own bin dir first: `python` and `pytest` are the ones running us.
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONNOUSERSITE": "1",
    }
    env.update(extra or {})
    if not isolation.blocks_all_network:
        pythonpath = [str(GUARD_SITE_DIR), *filter(None, [env.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    return env


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(pgid, signal.SIGKILL)


class Sandbox:
    """Runs commands confined to `root`; each call is independent."""

    def __init__(
        self,
        root: Path,
        *,
        timeout_s: float,
        limits: Limits,
        max_output_bytes: int,
        isolation: str = "auto",
        env: Mapping[str, str] | None = None,
        sandbox_uid: int = 65534,
    ) -> None:
        self.root = root
        self.env = dict(env or {})
        self.timeout_s = timeout_s
        self.limits = limits
        self.max_output_bytes = max_output_bytes
        self.uid = workspace_uid(sandbox_uid)
        self._isolation: Isolation | None = None
        self.uses_jail = isolation in ("auto", "jail")
        if self.uses_jail:
            unsafe = unsafe_workspace(root)
            if unsafe is not None:
                raise ValueError(
                    f"the workspace root cannot be jailed: {unsafe}; point `root` at a project "
                    "folder of its own (commands may write anywhere in it)"
                )
            if shutil.which("bwrap") is None:
                raise ValueError(
                    "commands run in a bubblewrap jail and `bwrap` is not installed; "
                    + BWRAP_INSTALL_HINT
                )
        else:
            self._isolation = _fixed_isolation(isolation)

    async def isolation(self) -> Isolation:
        """The isolation in use; the jail is probed once per process on first use.

        Raises:
            JailUnavailable: bubblewrap cannot create the jail here (never a silent downgrade).
        """
        if self._isolation is None:
            reason = await anyio.to_thread.run_sync(probe_jail, self.root, self.uid)
            if reason is not None:
                raise JailUnavailable(reason)
            prefix = jail_prefix(self.root, uid=self.uid)
            self._isolation = Isolation("jail", prefix)
        return self._isolation

    async def run(self, argv: Sequence[str], *, timeout_s: float | None = None) -> CommandResult:
        """Run `argv` in the workspace; never raises for a failing or hanging command.

        Raises:
            JailUnavailable: the jail cannot start on this machine.
        """
        isolation = await self.isolation()
        if isolation.level == "jail" and self.uid is not None:
            await anyio.to_thread.run_sync(hand_workspace_to, self.root, self.uid)
        timeout = self.timeout_s if timeout_s is None else timeout_s
        limits = {
            "cpu_s": self.limits.cpu_s,
            "memory_mb": self.limits.memory_mb,
            "file_size_mb": self.limits.file_size_mb,
            "max_processes": self.limits.max_processes,
        }
        launcher = [sys.executable, "-I", "-S", str(_LAUNCHER)]
        seccomp: int | None = None
        if isolation.level == "jail":
            # Outside: bwrap dies with us (even on SIGKILL). Inside, after the uid drop: the
            # limits (RLIMIT_NPROC binds now that the command is not root) and death with
            # bwrap, which ends the PID namespace.
            outer_options: dict[str, object] = {"die_with_parent": True, "parent": os.getpid()}
            inner_limits: dict[str, object] = dict(limits)
            if self.uid is not None:
                # Root drops to `uid`: the process limit is set outside, from the host's count
                # of that uid (the jail's /proc sees only its own processes).
                outer_options.update(nproc_uid=self.uid, max_processes=limits["max_processes"])
                inner_limits["nproc"] = False
            outer = json.dumps(outer_options)
            inner = json.dumps({"die_with_parent": True, "limits": inner_limits})
            seccomp = seccomp_fd()
            jail = with_seccomp(isolation.prefix, seccomp)
            command = [*launcher, outer, *jail, *launcher, inner, *argv]
        else:
            options = json.dumps({"limits": limits})
            command = [*launcher, options, *isolation.prefix, *argv]
        capture = OutputCapture(self.max_output_bytes)
        started = time.monotonic()
        try:
            process = await anyio.open_process(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=sandbox_environment(self.root, isolation, self.env),
                start_new_session=True,
                pass_fds=() if seccomp is None else (seccomp,),
            )
        finally:
            if seccomp is not None:
                os.close(seccomp)
        timed_out = False
        try:
            with anyio.move_on_after(timeout):
                await self._collect(process, capture)
            timed_out = process.returncode is None
        finally:
            # Also runs when the caller is cancelled: nothing in the group may outlive the call.
            _kill_group(process.pid)
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                await process.aclose()
        return CommandResult(
            exit_code=None if timed_out else process.returncode,
            output=capture.text(),
            timed_out=timed_out,
            truncated_bytes=capture.dropped,
            duration_s=time.monotonic() - started,
            timeout_s=timeout,
        )

    async def _collect(self, process: anyio.abc.Process, capture: OutputCapture) -> None:
        drained = anyio.Event()

        async def drain() -> None:
            assert process.stdout is not None
            try:
                async for chunk in process.stdout:
                    capture.feed(chunk)
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                pass
            drained.set()

        async with anyio.create_task_group() as group:
            group.start_soon(drain)
            await process.wait()
            # Children left in the group would keep the pipe open and the call waiting.
            _kill_group(process.pid)
            with anyio.move_on_after(_DRAIN_GRACE_S):
                await drained.wait()
            group.cancel_scope.cancel()


def _fixed_isolation(level: str) -> Isolation:
    if level == "python-guard":
        return Isolation("python-guard")
    detected = detect_isolation()
    if detected.level != level and not (
        level == "network-namespace" and detected.blocks_all_network
    ):
        raise ValueError(f"isolation {level!r} is not available here (best: {detected.level!r})")
    return detected
