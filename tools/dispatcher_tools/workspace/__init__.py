"""Coding tools over a workspace directory, with commands run in a resource-limited sandbox.

What holds (Linux; tests in tests/toolkits/test_jail.py, test_sandbox.py and
test_workspace_files.py; the full list in docs/reliability.md, "The command jail"):

- Commands run in a bubblewrap jail (``isolation: auto``, the default): the host filesystem is
  read-only, only the workspace is writable, ``/tmp``, ``/var/tmp``, ``/run`` and ``/dev/shm`` are
  private and empty, no network, no host IPC, no new unix sockets (seccomp), own PID namespace,
  an unprivileged uid (as root: the real uid is dropped to ``sandbox_uid``, 65534, with
  ``setpriv``, and the workspace is chowned to it), RLIMIT_NPROC bounding the process count
  (root included, since the command is no longer root). When ``bwrap`` is missing the toolkit
  refuses with the install line; ``isolation: namespaces | network-namespace | python-guard``
  are weaker, opt-in modes with no filesystem jail.
- File tools only touch regular files under the root: absolute paths, ``..`` and symlinks that
  resolve outside are rejected; every path component is opened with ``O_NOFOLLOW``; pipes,
  devices and hard-linked files are refused without blocking.
- Commands get an environment built from scratch (PATH, HOME=root, locale, a few PYTHON* flags
  and the configured ``env``, whose names may not look like secrets): no inherited API keys.
- Limits via setrlimit before exec: CPU seconds, address space, file size, no core dumps,
  process count.
- A wall-clock timeout, a cancelled call and normal completion all SIGKILL the command's whole
  process group; in the jail, the PID namespace ends with its first process, which dies when
  dispatcher's process dies, even by SIGKILL.
"""

from dispatcher_tools.workspace._pytest_report import TestReport
from dispatcher_tools.workspace._sandbox import CommandResult
from dispatcher_tools.workspace._toolkit import WorkspaceToolkit

__all__ = ["CommandResult", "TestReport", "WorkspaceToolkit"]
