"""File operations behind the workspace tools: listing, reading, writing, exact-text patches."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "IGNORED_DIRS",
    "PatchError",
    "apply_patch",
    "fingerprint",
    "list_tree",
    "read_text",
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
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries.append(f"{relative} -> {os.readlink(path)}")
            elif is_dir:
                entries.append(f"{relative}/")
            else:
                entries.append(f"{relative} ({path.stat().st_size} bytes)")
    return entries, skipped


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte in its first 8 KiB)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    if b"\x00" in data[:8192]:
        return None
    return data.decode(errors="replace")


def write_text(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
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
            digest.update(
                f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
            )
            count += 1
            if count >= max_files:
                return digest.hexdigest()[:16]
    return digest.hexdigest()[:16]
