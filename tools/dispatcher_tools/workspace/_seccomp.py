"""A seccomp filter (classic BPF, given to ``bwrap --seccomp FD``) that refuses new unix sockets.

A read-only bind does not stop ``connect()`` to a host unix socket (a docker or D-Bus socket
left world-writable), and the jail shows most of the host filesystem. ``socket(AF_UNIX, ...)``
therefore fails with EACCES; ``socketpair`` (asyncio's self-pipe) keeps working. The network
namespace already hides abstract sockets. Only x86-64 and aarch64 are known; elsewhere no filter
is installed (``unix_socket_filter`` returns None) and that gap is documented.
"""

from __future__ import annotations

import errno
import platform
import struct

__all__ = ["unix_socket_filter"]

# Classic BPF opcodes and seccomp constants (linux/filter.h, linux/seccomp.h, linux/audit.h).
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL = 0x80000000
_X32_BIT = 0x40000000
_AF_UNIX = 1
# seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args[0] (low half) at 16.
_NR, _ARCH, _ARG0 = 0, 4, 16
_ARCHES = {
    # machine: (AUDIT_ARCH_*, __NR_socket)
    "x86_64": (0xC000003E, 41),
    "amd64": (0xC000003E, 41),
    "aarch64": (0xC00000B7, 198),
    "arm64": (0xC00000B7, 198),
}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def unix_socket_filter(machine: str | None = None) -> bytes | None:
    """The compiled filter for this machine, or None when its syscall numbers are unknown."""
    known = _ARCHES.get((machine or platform.machine()).lower())
    if known is None:
        return None
    audit_arch, nr_socket = known
    program = [
        _op(_LD_W_ABS, _ARCH),
        _op(_JEQ_K, audit_arch, jt=1, jf=0),
        _op(_RET_K, _RET_KILL),  # another ABI (e.g. 32-bit) could bypass the numbers below
        _op(_LD_W_ABS, _NR),
        _op(_JGE_K, _X32_BIT, jt=0, jf=1),
        _op(_RET_K, _RET_ERRNO | errno.ENOSYS),  # x32 syscalls on x86-64
        _op(_JEQ_K, nr_socket, jt=0, jf=3),
        _op(_LD_W_ABS, _ARG0),
        _op(_JEQ_K, _AF_UNIX, jt=0, jf=1),
        _op(_RET_K, _RET_ERRNO | errno.EACCES),
        _op(_RET_K, _RET_ALLOW),
    ]
    return b"".join(program)
