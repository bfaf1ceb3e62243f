"""Untrusted text (model and tool output) made safe to print on a terminal."""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls but tab and newline (ESC starts every escape sequence; CR overwrites a line),
# DEL and C1 controls (0x9b is a one-byte CSI), and the bidi overrides and isolates that
# reorder what is shown (the "Trojan Source" characters).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control characters shown as ``\\xNN`` / ``\\uNNNN``: a model's answer cannot
    clear the screen, retitle the window or write the clipboard (OSC 52)."""
    return _CONTROL.sub(_shown, text)


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
