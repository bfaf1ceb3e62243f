"""The bubblewrap jail every command runs in (the default isolation, ``jail``).

What a jailed command sees and can do:

- the host filesystem read-only (``--ro-bind / /``); only the workspace is writable; a private
  ``/tmp``, ``/var/tmp``, ``/run`` and ``/dev/shm`` (host sockets and shared memory under them are
  not visible), a minimal ``/dev`` and its own ``/proc``;
- no network (its own network namespace: only a down loopback, no abstract unix sockets), no
  host SysV IPC, its own PID namespace (it sees only its own processes; when the command or the
  dispatcher process dies, every process of the jail dies: ``--die-with-parent``), a new session
  (no terminal injection);
- an unprivileged uid. When dispatcher runs as root, a user namespace only *renames* uid 0, so
  the jail instead starts privileged and drops the real uid to ``sandbox_uid`` (65534,
  ``nobody``) with ``setpriv`` before the command starts: root-only files such as
  ``/etc/shadow`` stay unreadable and RLIMIT_NPROC binds. The workspace is handed to that uid
  (``chown``) before each command; files with several hard links are never chowned (one could
  be a host file). Paths the interpreter needs that the uid could not reach (a Python under
  ``/root``) are bound read-only into a tmpfs that hides their parent.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from dispatcher_tools.workspace._seccomp import unix_socket_filter

__all__ = [
    "BWRAP_INSTALL_HINT",
    "JailUnavailable",
    "hand_workspace_to",
    "jail_prefix",
    "probe_jail",
    "seccomp_fd",
    "unsafe_workspace",
    "with_seccomp",
    "workspace_uid",
]

BWRAP_INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install -y bubblewrap`; Fedora: `dnf install "
    "bubblewrap`; Arch: `pacman -S bubblewrap`), or accept a weaker sandbox with `isolation: "
    "namespaces` (see docs/reliability.md, 'The command jail')"
)
# Host directories replaced by an empty tmpfs: sockets, shared memory and other users' temp files.
_PRIVATE_DIRS = ("/tmp", "/var/tmp", "/run", "/dev/shm")
_STICKY_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
_HOST_PACKAGE_DIR = Path(__file__).resolve().parent


class JailUnavailable(Exception):
    """bubblewrap is missing or cannot create the jail here; the message says why and what to do."""


def _traversable(directory: Path, uid: int) -> bool:
    """Could `uid` (with no supplementary groups, gid == uid) search `directory`?"""
    try:
        info = directory.stat()
    except OSError:
        return False
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == uid:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _hidden_ancestor(path: Path, uid: int | None, hidden: Sequence[Path]) -> Path | None:
    """The top-most directory above `path` that the jail hides or `uid` cannot search."""
    for ancestor in [*reversed(path.parents), path]:
        if ancestor in hidden:
            return ancestor
        if uid is not None and ancestor != path and not _traversable(ancestor, uid):
            return ancestor
    return None


def _needed_paths() -> list[Path]:
    """What the sandboxed interpreter must read: its prefixes (stdlib, site-packages, pytest)
    and this package (the launcher).

    Not every `sys.path` entry: the script's folder or a source checkout on it may hold files
    (a `.env`) that the jail hides otherwise."""
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(Path(sys.executable).parent),
        str(Path(os.path.realpath(sys.executable)).parent),
        str(_HOST_PACKAGE_DIR),
    }
    # A venv's interpreter reads pyvenv.cfg beside its bin/: without it the jailed `python`
    # would be the base interpreter, with the base interpreter's packages.
    venv_root = Path(sys.executable).parent.parent
    if (venv_root / "pyvenv.cfg").is_file():
        candidates.add(str(venv_root))
    private = [Path(p) for p in _PRIVATE_DIRS]
    paths = {Path(os.path.realpath(p)) for p in candidates if p and os.path.isdir(p)}
    # A script's directory on sys.path may be /tmp itself, or /: never re-expose those.
    paths = {p for p in paths if not any(d.is_relative_to(p) for d in private)}
    # A path inside another one is bound with it.
    return sorted(p for p in paths if not any(q != p and p.is_relative_to(q) for q in paths))


def jail_prefix(workspace: Path, *, uid: int | None) -> tuple[str, ...]:
    """The argv before the launcher: ``bwrap ... [setpriv ...]``.

    Args:
        workspace: The resolved workspace root, the only writable host path.
        uid: The uid to drop to (dispatcher runs as root), or None to keep the caller's uid
            inside an unprivileged user namespace.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise JailUnavailable(f"bubblewrap (`bwrap`) is not installed; {BWRAP_INSTALL_HINT}")
    private = [Path(p) for p in _PRIVATE_DIRS if os.path.isdir(p)]
    hidden: list[Path] = list(private)
    rebinds: list[Path] = []
    for needed in [*_needed_paths(), workspace]:
        ancestor = _hidden_ancestor(needed, uid, hidden)
        if ancestor is not None:
            if ancestor not in hidden:
                hidden.append(ancestor)
            if needed != workspace:
                rebinds.append(needed)
    argv: list[str] = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # Parents before children, so a nested tmpfs is not buried by its parent's.
    for directory in sorted(set(hidden), key=lambda p: len(p.parts)):
        if not any(other != directory and directory.is_relative_to(other) for other in hidden):
            # Temp dirs stay usable (sticky, world-writable); hidden ancestors are not writable.
            perms = "1777" if str(directory) in _STICKY_DIRS else "0755"
            argv += ["--perms", perms, "--tmpfs", str(directory)]
    made: set[Path] = set()
    for path in [*rebinds, workspace]:
        # bwrap would copy the host's modes onto the directories it creates (0700 under /root):
        # create them searchable first.
        for parent in reversed(path.parents):
            if parent not in made and any(parent.is_relative_to(h) and parent != h for h in hidden):
                argv += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        if path != workspace:
            argv += ["--ro-bind", str(path), str(path)]
    argv += ["--bind", str(workspace), str(workspace), "--chdir", str(workspace)]
    argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    argv += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if uid is None:
        return (*argv, "--unshare-user", "--")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise JailUnavailable(
            "running as root, the jail drops to an unprivileged uid with `setpriv` (util-linux), "
            "which is not installed; install util-linux or run dispatcher as a non-root user"
        )
    # Privileged bwrap keeps only the two capabilities setpriv needs; setpriv then drops the
    # real uid, every capability and the bounding set, and forbids regaining privileges.
    argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"]
    drop = [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]
    return (*argv, *drop)


_SYSTEM_DIRS = frozenset(
    Path(p)
    for p in (
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/var/lib",
        "/var/tmp",
    )
)


def unsafe_workspace(root: Path) -> str | None:
    """Why `root` cannot be a jail's writable workspace (None if it can).

    It becomes writable by the jailed command (and, as root, is chowned to the sandbox
    uid): never a system folder, nor a folder holding the Python or the launcher that run
    outside the jail (a command could change code that runs next time as dispatcher's user).
    """
    resolved = root.resolve()
    if resolved in _SYSTEM_DIRS:
        return f"{resolved} is a system folder"
    for needed in (Path(sys.prefix), Path(sys.base_prefix), _HOST_PACKAGE_DIR):
        if Path(os.path.realpath(needed)).is_relative_to(resolved):
            return f"{resolved} holds the Python installation or the dispatcher package itself"
    return None


def hand_workspace_to(root: Path, uid: int) -> None:
    """chown the workspace tree to `uid` so the jailed command can write it.

    Never follows a link and never chowns a non-directory with several hard links (one may be
    a host file linked in from outside) or a device node. Folders are walked by descriptor
    (`os.fwalk`) and entries changed relative to their folder's descriptor: another jailed
    command may swap a folder for a link at any moment, and a walk by path would follow it.
    """
    _chown_entry(root, uid, None)
    for _, dirs, files, folder in os.fwalk(root, follow_symlinks=False):
        for name in (*dirs, *files):
            _chown_entry(name, uid, folder)


def _chown_entry(path: Path | str, uid: int, folder: int | None) -> None:
    try:
        info = os.stat(path, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return
    if info.st_uid == uid and info.st_gid == uid:
        return
    mode = info.st_mode
    if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
        return
    if not stat.S_ISDIR(mode) and info.st_nlink > 1:
        return
    try:
        os.chown(path, uid, uid, dir_fd=folder, follow_symlinks=False)
    except OSError:
        return


def seccomp_fd() -> int | None:
    """A fresh fd holding the unix-socket filter, positioned at its start (bwrap reads it)."""
    program = unix_socket_filter()
    if program is None:
        return None
    fd = os.memfd_create("dispatcher-seccomp", os.MFD_CLOEXEC)
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def with_seccomp(prefix: Sequence[str], fd: int | None) -> list[str]:
    """`prefix` with ``--seccomp FD`` right after the bwrap executable."""
    if fd is None:
        return list(prefix)
    return [prefix[0], "--seccomp", str(fd), *prefix[1:]]


@functools.cache
def probe_jail(workspace: Path, uid: int | None) -> str | None:
    """None if a jail starts here, else the reason it cannot (bwrap's own message)."""
    try:
        prefix = jail_prefix(workspace, uid=uid)
    except JailUnavailable as exc:
        return str(exc)
    seccomp = seccomp_fd()
    try:
        done = subprocess.run(
            [*with_seccomp(prefix, seccomp), "/bin/true"],
            capture_output=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
            check=False,
            pass_fds=() if seccomp is None else (seccomp,),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    finally:
        if seccomp is not None:
            os.close(seccomp)
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        return (
            f"bubblewrap cannot create the jail on this machine ({reason}); it needs user "
            "namespaces (non-root) or root; "
            "or accept a weaker sandbox with `isolation: namespaces`"
        )
    return None


def workspace_uid(requested: int) -> int | None:
    """The uid commands run as: `requested` when we are root, else None (keep ours)."""
    return requested if os.geteuid() == 0 else None
