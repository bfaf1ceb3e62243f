"""The isolation levels a command can run under.

- ``jail`` (the default, also ``auto``): bubblewrap, see ``_jail.py``. Read-only host, only the
  workspace writable, unprivileged uid, no network, no host IPC, bounded process count. When
  bubblewrap is missing the toolkit refuses to run commands (a ConfigError with the install line).

The weaker levels below are opt-in only (``isolation: namespaces`` etc.); none of them is a
filesystem jail: a command can read and write whatever the dispatcher's user can.

- ``namespaces``: ``unshare`` with a user, network, PID and mount namespace. No network at all
  (only a down loopback), the command sees only its own processes in ``/proc`` (so not the
  parent's environment), it is not root outside its namespace, and every process it started
  dies with it.
- ``network-namespace``: ``unshare`` with a network namespace only (some containers refuse PID
  namespaces). No network for any program; process clean-up relies on the process group.
- ``python-guard``: no usable ``unshare``. A ``sitecustomize`` blocks internet sockets and name
  resolution in Python processes only; other programs are not stopped.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GUARD_SITE_DIR", "ISOLATION_LEVELS", "Isolation", "detect_isolation"]

GUARD_SITE_DIR = Path(__file__).parent / "_netguard"
ISOLATION_LEVELS = ("jail", "namespaces", "network-namespace", "python-guard")

# In a PID namespace the first process is init, which ignores default-action signals such as
# SIGXCPU; a shell as init keeps the command an ordinary process and passes on its exit status.
_INIT = ("/bin/sh", "-c", '"$@"\nexit $?', "sandbox-init")
_CANDIDATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "namespaces",
        ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"),
    ),
    ("network-namespace", ("--user", "--map-root-user", "--net")),
    ("network-namespace", ("--net",)),
)


@dataclass(frozen=True, slots=True)
class Isolation:
    """How commands are wrapped: `prefix` goes before the command's argv."""

    level: str
    prefix: tuple[str, ...] = ()

    @property
    def blocks_all_network(self) -> bool:
        return self.level != "python-guard"


def _works(argv: tuple[str, ...]) -> bool:
    try:
        done = subprocess.run(
            [*argv, "true"], capture_output=True, timeout=10, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.cache
def detect_isolation() -> Isolation:
    """The strongest of the weaker (``unshare``) levels: probed once, a few ms each."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return Isolation("python-guard")
    for level, flags in _CANDIDATES:
        prefix = (unshare, *flags, *(_INIT if "--pid" in flags else ()))
        if _works(prefix):
            return Isolation(level, prefix)
    return Isolation("python-guard")
