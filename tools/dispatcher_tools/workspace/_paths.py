"""Confine model-supplied paths to the workspace root.

A path is accepted only if it is relative, has no ``..`` component, and still lies under the
root after every symlink is resolved. Files are then opened with ``O_NOFOLLOW`` so a link swapped
in after the check is not followed either.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

__all__ = ["PathRejected", "display", "is_unicode_text", "resolve_in"]


class PathRejected(Exception):
    """A path the workspace refuses; `kind` is absolute | parent | symlink_escape | invalid |
    invalid_text."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def resolve_in(root: Path, path: str) -> Path:
    """The absolute location of `path` inside `root` (which must already be resolved)."""
    text = path.strip() or "."
    if "\x00" in text:
        raise PathRejected("invalid", "The path contains a NUL byte.")
    if not is_unicode_text(text):
        raise PathRejected(
            "invalid_text",
            "The path contains a lone surrogate (an escape such as \\ud800 that is not a "
            "character). Give the path as plain text.",
        )
    pure = PurePosixPath(text)
    drive = len(text) >= 2 and text[0].isalpha() and text[1] == ":" and text[2:3] in ("", "/", "\\")
    if pure.is_absolute() or text.startswith(("~", "\\")) or drive:
        raise PathRejected(
            "absolute",
            f"Absolute paths are not allowed: {path!r}. Give a path relative to the workspace "
            "root, e.g. 'src/app.py'.",
        )
    if ".." in pure.parts:
        raise PathRejected(
            "parent",
            f"'..' is not allowed in paths: {path!r}. Give a path relative to the workspace "
            "root without '..'.",
        )
    resolved = Path(os.path.realpath(root / pure))
    if resolved != root and not resolved.is_relative_to(root):
        raise PathRejected(
            "symlink_escape",
            f"{path!r} leads outside the workspace through a symbolic link; only files inside "
            "the workspace can be used.",
        )
    return resolved


def is_unicode_text(text: str) -> bool:
    """False for a string with lone surrogates: JSON can escape them, UTF-8 cannot encode them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display(root: Path, location: Path) -> str:
    """`location` relative to the root, as the model should write it."""
    relative = location.relative_to(root).as_posix()
    return relative or "."
