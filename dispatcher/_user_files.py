"""Read a file a user named: a folder, a binary file or a permission problem is a UserError."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dispatcher.errors import ConfigError, DataError

__all__ = ["as_path", "check_regular_file", "check_replaceable", "read_user_text"]


def read_user_text(path: Path, *, data: bool = False) -> str:
    """The UTF-8 text of `path`; raises DataError (`data`) or ConfigError saying what to fix.

    FileNotFoundError passes through: callers word "missing" for their own kind of file.
    """
    try:
        check_regular_file(path, data=data)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        problem, fix = "is a folder, not a file", "pass the path of the file itself"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc})"
        fix = "check the path and its permissions"
    else:
        try:
            # utf-8-sig: a byte order mark (Windows editors write one) is no part of the text
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = f"is not UTF-8 text (byte {exc.start} cannot be decoded)"
            fix = "pass a text file saved as UTF-8 (is this the right file?)"
    if data:
        raise DataError(problem, file=path, fix=fix)
    raise ConfigError(problem, file=path, fix=fix)


def check_regular_file(path: Path, *, data: bool = False) -> None:
    """Refuse a device or a pipe before it is read: /dev/zero never ends, a FIFO may block.

    A missing path or a folder passes, for the caller's own message.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return
    error = DataError if data else ConfigError
    raise error(
        "is a device or a pipe, not a file",
        file=path,
        fix="pass the path of a regular file (save the data to a file first)",
    )


def check_replaceable(path: Path) -> Path:
    """The file to write `path`'s new content over (a link's target), refused unless it is a
    regular file or does not exist yet.

    Files are written atomically, a temporary file renamed over the target: over a device or
    a pipe (`/dev/null` as root) the rename would replace the node itself with a file."""
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target
    except OSError:
        return target  # the write itself says what is wrong
    if stat.S_ISREG(mode):
        return target
    what = "a folder" if stat.S_ISDIR(mode) else "a device or a pipe"
    raise ConfigError(
        f"is {what}, not a file to write",
        file=path,
        fix="pass the path of a regular file (a new one is created)",
    )


def as_path(value: object, what: str = "path") -> Path:
    """`value` as a Path when it is a str or an os.PathLike; else a ConfigError."""
    if isinstance(value, str | os.PathLike):
        return Path(value)
    raise ConfigError(
        f"the {what} must be a str or a Path, got {type(value).__name__}",
        fix="pass the file's path, e.g. Path('runs.jsonl')",
    )
