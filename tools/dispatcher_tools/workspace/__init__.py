"""Coding tools over a workspace directory, with commands run in a resource-limited sandbox.

What holds (Linux; tests in tests/toolkits/test_sandbox.py and test_workspace_files.py):

- File tools only touch paths under the root: absolute paths, ``..`` and symlinks that resolve
  outside are rejected; files are opened with ``O_NOFOLLOW``.
- Commands get an environment built from scratch (PATH, HOME=root, locale, a few PYTHON* flags
  and the configured ``env``, whose names may not look like secrets): no inherited API keys.
- Limits via setrlimit before exec: CPU seconds, address space, file size, no core dumps, and
  RLIMIT_NPROC for non-root users (set to the user's current task count plus
  ``max_processes``). Root is exempt from RLIMIT_NPROC, so as root the process count is not
  limited; the wall-clock timeout and the process-group kill still end every process.
- A wall-clock timeout, a cancelled call and normal completion all SIGKILL the command's whole
  process group; with the ``namespaces`` isolation the PID namespace also ends processes that
  called setsid.
- Network: with ``namespaces`` or ``network-namespace`` isolation (``unshare``) there is no
  network for any program; otherwise (``python-guard``) only Python processes are blocked.
- Not provided: a filesystem jail for commands. A command can read any file the user running
  dispatcher can read (with ``namespaces`` it cannot see other processes or their environment).
  Run dispatcher as an unprivileged user, or in a container, for untrusted code.
"""

from dispatcher_tools.workspace._pytest_report import TestReport
from dispatcher_tools.workspace._sandbox import CommandResult
from dispatcher_tools.workspace._toolkit import WorkspaceToolkit

__all__ = ["CommandResult", "TestReport", "WorkspaceToolkit"]
