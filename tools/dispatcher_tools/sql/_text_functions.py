"""Linear-time ``instr``, ``replace`` and two-argument ``trim``/``ltrim``/``rtrim``.

SQLite 3.40 runs each of these inside one VM step, where the progress handler never runs, and
compares every position with the whole needle (instr, replace) or the whole character set
(trim): near the 1 MB value cap ``instr`` and ``replace`` took 5 s and ``trim`` over 100 s
against a 1 s limit. These give SQLite's answers (same type, same bytes) with Python's
linear-time search (two-way matching for long needles) and a set of trim characters.

The one difference: a result that is not valid UTF-8 (only possible when a blob is treated as
text) comes back as a blob with the same bytes, because Python cannot return such text.
"""

from __future__ import annotations

import sqlite3
from typing import Any

__all__ = ["LinearTextFunctions"]

_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes
_FAST_STRIP_SET = 64  # str.strip scans its argument per character: fine for small sets only
_FALLBACK_WORK = 20_000_000  # bytes x characters SQLite's own trim may take: well under 0.1 s


class LinearTextFunctions:
    """The SQL functions; `close()` releases the scratch database used for rare conversions."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length  # the querying connection's SQLITE_LIMIT_LENGTH
        self._scratch: sqlite3.Connection | None = None

    def instr(self, haystack: Any, needle: Any) -> int | None:
        """1-based position of `needle` in `haystack` (bytes for two blobs, else characters)."""
        if haystack is None or needle is None:
            return None
        if isinstance(haystack, str) and isinstance(needle, str):
            return haystack.find(needle) + 1
        if isinstance(haystack, bytes) and isinstance(needle, bytes):
            return haystack.find(needle) + 1
        return _text_position(self._text_bytes(haystack), self._text_bytes(needle))

    def replace(self, text: Any, pattern: Any, replacement: Any) -> Any:
        """`text` with every `pattern` replaced, left to right; SQLite's NULL and empty rules."""
        if text is None or pattern is None:
            return None
        old = self._text_bytes(pattern)
        if not old or old[0] == 0:  # SQLite reads the pattern as a C string: "" means no-op
            # ... and returns `text` as it read it: numbers unchanged, a blob as text.
            return _as_text(text) if isinstance(text, bytes) else text
        if replacement is None:
            return None
        data, new = self._text_bytes(text), self._text_bytes(replacement)
        size = len(data) + data.count(old) * (len(new) - len(old))
        if size > self.max_length:  # checked before building it: the result is never made
            raise ValueError(
                f"replace() would make a value of {size} bytes; values are limited to "
                f"{self.max_length} bytes (string or blob too big)"
            )
        return _as_text(data.replace(old, new))

    def trim(self, text: Any, characters: Any) -> Any:
        return self._trim(text, characters, left=True, right=True)

    def ltrim(self, text: Any, characters: Any) -> Any:
        return self._trim(text, characters, left=True, right=False)

    def rtrim(self, text: Any, characters: Any) -> Any:
        return self._trim(text, characters, left=False, right=True)

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.close()

    # -- internals -------------------------------------------------------------------------

    def _trim(self, text: Any, characters: Any, *, left: bool, right: bool) -> Any:
        if text is None or characters is None:
            return None
        value, chars = self._as_str(text), self._as_str(characters)
        if value is None or chars is None:  # a blob that is not UTF-8: SQLite's own, bounded
            return self._sqlite_trim(text, characters, left=left, right=right)
        charset = set(chars.split("\x00", 1)[0])  # SQLite reads the set as a C string
        if len(charset) <= _FAST_STRIP_SET:
            joined = "".join(charset)
            value = value.lstrip(joined) if left else value
            return value.rstrip(joined) if right else value
        start, end = 0, len(value)
        while left and start < end and value[start] in charset:
            start += 1
        while right and end > start and value[end - 1] in charset:
            end -= 1
        return value[start:end]

    def _sqlite_trim(self, text: Any, characters: Any, *, left: bool, right: bool) -> Any:
        work = len(self._text_bytes(text)) * len(self._text_bytes(characters))
        if work > _FALLBACK_WORK:
            raise ValueError(
                "trim() of a blob that is not UTF-8 text is limited to small inputs; "
                "cast it with hex() or trim it before it grows"
            )
        name = "trim" if left and right else "ltrim" if left else "rtrim"
        result = self._scratch_db().execute(f"SELECT {name}(?, ?)", (text, characters))
        return _as_text(result.fetchone()[0])

    def _as_str(self, value: Any) -> str | None:
        """SQLite's text of a value as str; None for a blob that is not valid UTF-8."""
        if isinstance(value, str):
            return value
        try:
            return self._text_bytes(value).decode()
        except UnicodeDecodeError:
            return None

    def _text_bytes(self, value: Any) -> bytes:
        """The bytes SQLite's sqlite3_value_text() gives for a non-NULL value."""
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, int):
            return str(value).encode()
        # REAL: SQLite's own rendering ("1.0e+20"), which Python's repr does not match.
        cast = self._scratch_db().execute("SELECT CAST(? AS TEXT)", (value,)).fetchone()[0]
        return bytes(cast)

    def _scratch_db(self) -> sqlite3.Connection:
        if self._scratch is None:
            self._scratch = sqlite3.connect(":memory:", isolation_level=None)
            self._scratch.text_factory = bytes
            self._scratch.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_length)
        return self._scratch


def _text_position(haystack: bytes, needle: bytes) -> int:
    """SQLite's text instr over raw bytes: it steps one UTF-8 character at a time."""
    if not needle:
        return 1
    if needle[0] & 0xC0 == 0x80:  # starts mid-character: SQLite can match only at the start
        return 1 if haystack.startswith(needle) else 0
    found = haystack.find(needle)
    if found < 0:
        return 0
    # Characters stepped over = character starts in haystack[1 : found + 1].
    return 1 + len(haystack[1 : found + 1].translate(None, _CONTINUATION))


def _as_text(data: bytes) -> str | bytes:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data  # not UTF-8: Python cannot return it as text, so it stays a blob
