"""Apply the sandbox's resource limits to this process, then exec the command.

Run as ``python -I -S _launcher.py OPTIONS_JSON ARGV...`` rather than as a ``preexec_fn``:
preexec functions are unsafe when the parent has threads, and `anyio.open_process` has none.
Limits survive exec and are inherited by every child.

OPTIONS_JSON holds ``limits`` (optional) and ``die_with_parent``: then SIGKILL is delivered to
this process (and, after exec, to the command) when its parent dies, even by SIGKILL; with
``parent`` set, the launcher first checks that parent is still alive. In the jail the launcher
is the PID namespace's first process, so its death ends every process of the jail.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

_PR_SET_PDEATHSIG = 1


def _tasks_of_user(uid: int) -> int:
    """Tasks (threads) `uid` already runs (as /proc shows them): RLIMIT_NPROC counts them."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


def _set(limit: int, soft: int, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(limit)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        # An unprivileged process cannot raise its hard limit: tighten within it instead.
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(limit, (soft, hard))


def _die_with_parent(parent: int | None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        sys.exit(126)
    if parent is not None and os.getppid() != parent:
        sys.exit(126)  # the parent died before the signal was armed


def _apply(limits: dict[str, int]) -> None:
    # CPU: SIGXCPU at the soft limit, SIGKILL one second later if it is ignored.
    _set(resource.RLIMIT_CPU, limits["cpu_s"], limits["cpu_s"] + 1)
    _set(resource.RLIMIT_AS, limits["memory_mb"] * 1024 * 1024)
    _set(resource.RLIMIT_FSIZE, limits["file_size_mb"] * 1024 * 1024)
    _set(resource.RLIMIT_CORE, 0)
    # Root is exempt from RLIMIT_NPROC and the count spans every process of the uid, so the
    # limit is "what this user runs now plus max_processes", and only for non-root users.
    if limits.get("nproc", True) and os.getuid() != 0 and os.path.isdir("/proc"):
        _set(resource.RLIMIT_NPROC, _tasks_of_user(os.getuid()) + limits["max_processes"])


def _limit_processes_of(uid: int, max_processes: int) -> None:
    """Set, while still root and seeing the host's /proc, the process limit that binds once
    the real uid is dropped to `uid`: what `uid` runs host-wide now (other jails included,
    the kernel counts them all) plus `max_processes`."""
    _set(resource.RLIMIT_NPROC, _tasks_of_user(uid) + max_processes)


def main() -> None:
    options = json.loads(sys.argv[1])
    argv = sys.argv[2:]
    if options.get("die_with_parent"):
        _die_with_parent(options.get("parent"))
    if options.get("nproc_uid") is not None:
        _limit_processes_of(options["nproc_uid"], options["max_processes"])
    if options.get("limits"):
        _apply(options["limits"])
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"sandbox: cannot run {argv[0]!r}: {exc.strerror}", file=sys.stderr)
        sys.exit(127)


if __name__ == "__main__":
    main()
