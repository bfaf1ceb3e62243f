"""Fallback network block for Python processes in the sandbox (no network namespace available).

Imported automatically because the sandbox puts this directory on PYTHONPATH. It blocks
internet-family sockets and name resolution in Python code only: a program that is not Python,
or that uses ctypes, is not stopped. The namespace isolation, when available, needs no guard.
"""

from __future__ import annotations

import errno
import socket
from typing import Any, NoReturn

_MESSAGE = "network access is disabled in the dispatcher sandbox"
_INTERNET = (socket.AF_INET, socket.AF_INET6)


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise PermissionError(errno.EACCES, _MESSAGE)


def _guard(name: str) -> None:
    original = getattr(socket.socket, name)

    def guarded(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if self.family in _INTERNET:
            _refuse()
        return original(self, *args, **kwargs)

    setattr(socket.socket, name, guarded)


for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
    _guard(_name)


def _no_resolution(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise socket.gaierror(socket.EAI_FAIL, _MESSAGE)


socket.getaddrinfo = _no_resolution
socket.gethostbyname = _no_resolution
socket.gethostbyname_ex = _no_resolution
