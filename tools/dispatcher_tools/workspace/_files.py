"""File operations behind the workspace tools: listing, reading, writing, exact-text patches."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "IGNORED_DIRS",
    "PatchError",
    "UnsafeFile",
    "apply_patch",
    "fingerprint",
    "list_tree",
    "open_in_workspace",
    "read_text",
    "shown_name",
    "write_text",
]

IGNORED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".venv",
        "venv",
        "node_modules",
        ".tox",
    }
)


def list_tree(base: Path, root: Path, *, max_entries: int) -> tuple[list[str], int]:
    """Relative paths under `base` (dirs end in '/'), sorted; and how many were left out."""
    entries: list[str] = []
    skipped = 0
    for current, dirs, files in os.walk(base, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS)
        here = Path(current)
        names = [(d, True) for d in dirs] + [(f, False) for f in sorted(files)]
        for name, is_dir in names:
            if len(entries) >= max_entries:
                skipped += 1
                continue
            path = here / name
            relative = shown_name(path.relative_to(root).as_posix())
            if path.is_symlink():
                entries.append(f"{relative} -> {shown_name(os.readlink(path))}")
            elif is_dir:
                entries.append(f"{relative}/")
            else:
                entries.append(f"{relative} ({path.stat().st_size} bytes)")
    return entries, skipped


def shown_name(name: str) -> str:
    """A file name as UTF-8 text: bytes that are not UTF-8 (kept by Python as lone surrogates,
    which no JSON encoder or trace line accepts) are shown as \\xNN escapes."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


class UnsafeFile(Exception):
    """A workspace entry the file tools refuse; `kind` is hard_link | not_regular | too_large."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def _check_regular(info: os.stat_result, name: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(
            "not_regular",
            f"{name!r} is not a regular file (a pipe, device, socket or directory); "
            "the file tools only read and write regular files.",
        )
    if info.st_nlink > 1:
        raise UnsafeFile(
            "hard_link",
            f"{name!r} has {info.st_nlink} hard links; the file tools refuse hard-linked files "
            "(one could be a file outside the workspace). Copy it to a new file instead.",
        )


def open_in_workspace(root: Path, location: Path, *, write: bool) -> int:
    """Open the regular file `location` (resolved, under `root`) without following any link.

    Every component is opened relative to its parent with O_NOFOLLOW, so a directory swapped
    for a symlink after `resolve_in` checked the path is not followed; pipes and devices are
    never opened for real (O_NONBLOCK, then fstat), hard-linked files are refused. With
    `write`, missing parent directories and the file are created (never truncated here).

    Raises:
        UnsafeFile: not a regular file, or hard-linked.
        OSError: a link on the way (ELOOP/ENOTDIR), a missing file when reading...
    """
    parts = location.relative_to(root).parts
    if not parts:
        raise UnsafeFile("not_regular", "'.' is the workspace root, a directory.")
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            if write:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=directory)
            child = os.open(
                part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory
            )
            os.close(directory)
            directory = child
        name = parts[-1]
        before: os.stat_result | None
        try:
            before = os.stat(name, dir_fd=directory, follow_symlinks=False)
        except FileNotFoundError:
            if not write:
                raise
            before = None
        if before is not None:
            _check_regular(before, name)
        mode = (os.O_RDWR | os.O_CREAT) if write else os.O_RDONLY
        flags = mode | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(name, flags, 0o644, dir_fd=directory)
    finally:
        os.close(directory)
    try:
        opened = os.fstat(fd)
        _check_regular(opened, name)
        if before is not None and (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise UnsafeFile("not_regular", f"{name!r} was replaced while it was opened.")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_text(root: Path, path: Path, *, max_bytes: int) -> str | None:
    """The file's text, or None for a binary file (a NUL byte in its first 8 KiB).

    Raises:
        UnsafeFile: kind too_large, for a file over `max_bytes` (it is never read into memory).
    """
    with os.fdopen(open_in_workspace(root, path, write=False), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise UnsafeFile(
                "too_large",
                f"{path.name!r} is {size} bytes, over the {max_bytes}-byte limit of the file "
                "tools. Look at parts of it with workspace.run_command (head, tail, grep, sed -n).",
            )
        data = handle.read(max_bytes + 1)
    if b"\x00" in data[:8192]:
        return None
    return data.decode(errors="replace")


def write_text(root: Path, path: Path, content: str) -> None:
    with os.fdopen(open_in_workspace(root, path, write=True), "wb") as handle:
        handle.truncate(0)
        handle.write(content.encode())


class PatchError(Exception):
    """An edit that cannot be applied; `kind` is no_match | ambiguous | empty."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Patched:
    text: str
    line: int


def _occurrences(text: str, needle: str) -> list[int]:
    found, start = [], text.find(needle)
    while start >= 0:
        found.append(start)
        start = text.find(needle, start + 1)
    return found


def apply_patch(text: str, old: str, new: str, *, name: str) -> Patched:
    """Replace the single occurrence of `old` with `new`, or explain why that is impossible."""
    if not old:
        raise PatchError(
            "empty",
            "old_text is empty. To create or overwrite a file use "
            "workspace.write_file; to edit, copy the exact lines to change.",
        )
    if "\r\n" in text and "\r" not in old:
        # The model writes "\n"; match a CRLF file by converting the edit, not the file.
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
    found = _occurrences(text, old)
    if len(found) == 1:
        at = found[0]
        return Patched(text[:at] + new + text[at + len(old) :], text.count("\n", 0, at) + 1)
    if found:
        lines = ", ".join(str(text.count("\n", 0, at) + 1) for at in found[:10])
        raise PatchError(
            "ambiguous",
            f"old_text occurs {len(found)} times in {name} (at lines {lines}). Include more "
            "surrounding lines in old_text so that it matches exactly once.",
        )
    raise PatchError("no_match", f"old_text was not found in {name}. " + _near_miss(text, old))


def _near_miss(text: str, old: str) -> str:
    """A hint when the text differs only in whitespace, which small models often get wrong."""
    wanted = [" ".join(line.split()) for line in old.strip("\n").splitlines()]
    lines = [" ".join(line.split()) for line in text.splitlines()]
    if wanted:
        for i in range(len(lines) - len(wanted) + 1):
            if lines[i : i + len(wanted)] == wanted:
                return (
                    f"The same lines with different indentation or spacing start at line {i + 1}: "
                    "read the file again and copy old_text exactly, including spaces."
                )
    return "Read the file with workspace.read_file and copy old_text exactly."


def fingerprint(root: Path, *, max_files: int = 20_000) -> str:
    """A digest of every file's path, size and mtime: changes when the workspace changes."""
    digest = hashlib.sha256()
    count = 0
    for current, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS)
        for name in sorted(files):
            path = Path(current) / name
            try:
                stat = path.lstat()
            except OSError:
                continue
            # fsencode: a command may have named the file with bytes that are not UTF-8.
            digest.update(os.fsencode(path.relative_to(root)))
            digest.update(f"\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            count += 1
            if count >= max_files:
                return digest.hexdigest()[:16]
    return digest.hexdigest()[:16]
