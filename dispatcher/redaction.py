"""Redact secrets from any text before it reaches a trace, a log or an error message.

Known shapes (provider API keys, bearer tokens, passwords in DSNs) are matched by pattern;
values registered with `register_secret` (e.g. keys read from the environment by the registry)
are matched exactly.
"""

from __future__ import annotations

import base64
import contextlib
import re
import threading
import urllib.parse

__all__ = [
    "REDACTED",
    "clip",
    "has_registered_secret",
    "redact",
    "redact_exception",
    "redact_registered",
    "register_secret",
]

REDACTED = "[REDACTED]"

_PATTERNS = re.compile(
    "|".join(
        [
            r"sk-ant-[A-Za-z0-9_\-]{8,}",  # Anthropic
            r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}",  # OpenAI and compatible
            r"gsk_[A-Za-z0-9]{20,}",  # Groq
            r"xai-[A-Za-z0-9]{20,}",  # xAI
            r"AIza[0-9A-Za-z_\-]{30,}",  # Google
            r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
            r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
            r"AKIA[0-9A-Z]{16}",  # AWS access key id
            r"xox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack
        ]
    )
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/\-]{8,}=*")
# Bounded repeats keep every pattern linear on megabytes of tool output.
_DSN_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]{0,20}://[^:/@\s\"']{0,128}:)[^@\s\"'/]{1,256}(@)")
_KEY_VALUE = re.compile(
    r"(?i)((?:api[_-]?key|secret|password|passwd|token|authorization)[\"']?\s*[:=]\s*[\"']?"
    # `Authorization: Basic <credentials>`: the credentials are the secret, not the scheme
    r"(?:(?:bearer|basic|digest|negotiate)\s+)?)"
    # os.environ/NAME is the documented reference to a key, never a key itself; `<key>` is a
    # placeholder in a how-to, and a scheme word alone is no secret
    r"(?!\[REDACTED\]|os\.environ/|<[a-z][a-z _-]{0,30}>|(?:bearer|basic|digest|negotiate)\b)"
    r"[^\s\"',}]{6,}"
)

_lock = threading.Lock()
_registered: set[str] = set()
_registered_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Redact this exact value everywhere from now on (ignored if shorter than 6 characters)."""
    global _registered_pattern
    if not value or len(value) < 6:
        return
    with _lock:
        if value in _registered:
            return
        _registered.add(value)
        ordered = sorted(_registered, key=len, reverse=True)
        _registered_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def clip(text: str, limit: int) -> str:
    """The first `limit` characters of `text` for a trace field, redacted *before* the cut.

    Redacting after it would miss a key that straddles the limit (its tail is gone, so
    neither the exact match nor a pattern sees it) and leave its first characters."""
    if len(text) <= limit:
        return text  # whole: the trace sink's redaction sees every key in it
    return redact(text)[:limit]


def has_registered_secret(text: str) -> bool:
    """True if `text` holds a value given to `register_secret` (e.g. a provider key), also
    split, spaced, re-cased, reversed, URL-, base64- or hex-encoded, or 24 characters of it.

    Each secret is reduced to lower-case letters and digits (also reversed, hex- and
    base64-encoded at each of the three byte alignments) and cut into windows of `_WINDOW`
    characters every `_STEP`: any 24 consecutive characters of such a form contain a window.
    The text is reduced the same way (and URL-decoded) and searched for the windows.
    """
    secrets = tuple(_registered)
    if not secrets:
        return False
    if any(value in text for value in secrets):
        return True
    windows = _secret_windows()
    if not windows:
        return False
    folded = _fold(text)
    if "%" in text:
        folded += b"\n" + _fold(urllib.parse.unquote(text))
    return any(window in folded for window in windows)


_WINDOW, _STEP = 16, 8
_NOT_ALNUM = bytes(b for b in range(256) if not chr(b).isalnum() or b > 127)
_windows_cache: tuple[frozenset[str], tuple[bytes, ...]] = (frozenset(), ())


def _fold(text: str) -> bytes:
    """Lower-case ASCII letters and digits only: separators, case and padding are gone."""
    return text.lower().encode("ascii", "ignore").translate(None, _NOT_ALNUM)


def _forms(secret: str) -> list[str]:
    """How a secret may appear: as is, reversed, hex, base64 at each alignment (std/url
    differ only in characters the folding drops)."""
    raw = secret.encode()
    forms = [secret, secret[::-1], raw.hex()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        # The first and last 4 characters depend on the neighbouring bytes: left out.
        forms.append(encoded[4 * ((shift + 2) // 3) + 4 : -4])
    return forms


def _secret_windows() -> tuple[bytes, ...]:
    global _windows_cache
    secrets = frozenset(_registered)
    if _windows_cache[0] == secrets:
        return _windows_cache[1]
    windows: set[bytes] = set()
    for secret in secrets:
        if len(_fold(secret)) < _WINDOW:
            continue  # short values: exact matches only
        for form in _forms(secret):
            folded = _fold(form)
            if len(folded) < _WINDOW:
                continue
            starts = [*range(0, len(folded) - _WINDOW + 1, _STEP), len(folded) - _WINDOW]
            windows.update(folded[i : i + _WINDOW] for i in starts)
    _windows_cache = (secrets, tuple(sorted(windows)))
    return _windows_cache[1]


def redact_exception(exc: BaseException) -> None:
    """Redact, in place, the messages and notes of `exc` and of every exception chained to it
    (``__cause__``, ``__context__``): what a printed traceback would show."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        with contextlib.suppress(AttributeError, TypeError):  # a type that fixes its args
            current.args = tuple(
                redact(arg) if isinstance(arg, str) else arg for arg in current.args
            )
        notes = getattr(current, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [redact(note) if isinstance(note, str) else note for note in notes]
        for name, value in list(getattr(current, "__dict__", {}).items()):
            if isinstance(value, str):  # e.g. an SDK error's `message`
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(current, name, redact(value))
        for name in ("strerror", "filename", "filename2", "msg", "reason"):
            value = getattr(current, name, None)
            if isinstance(value, str):
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(current, name, redact(value))
        if current.__suppress_context__ and current.__cause__ is None:
            # `raise ... from None`: a traceback hides this context, but code could still
            # reach it (an SDK error keeps its request, headers included): drop it.
            current.__context__ = None
        pending += [current.__cause__, current.__context__]


def redact_registered(text: str) -> str:
    """Only the registered values replaced: text a model works with otherwise stays exact."""
    pattern = _registered_pattern
    if pattern is None or not has_registered_secret(text):
        return text
    return pattern.sub(REDACTED, text)


_KEY_PREFIXES = (
    "sk-",
    "gsk_",
    "xai-",
    "AIza",
    "hf_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "AKIA",
    "xox",
)
_KEY_WORDS = (
    "api_key",
    "api-key",
    "apikey",
    "secret",
    "password",
    "passwd",
    "token",
    "authorization",
)


def redact(text: str) -> str:
    """Return `text` with every known secret replaced by ``[REDACTED]``.

    Each pattern runs only when a cheap substring test says it could match, so megabytes of
    tool output cost milliseconds.
    """
    if _registered_pattern is not None and any(v in text for v in _registered):
        text = _registered_pattern.sub(REDACTED, text)
    if _contains_any(text, _KEY_PREFIXES):
        text = _PATTERNS.sub(REDACTED, text)
    lowered = text.lower()
    if "bearer" in lowered:
        text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    if "://" in text:
        text = _DSN_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
    if _may_assign_key(lowered):
        text = _KEY_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    return text


_ASSIGNMENT = re.compile(r"[\"']?\s*[:=]")


def _contains_any(text: str, needles: tuple[str, ...]) -> bool:
    # A plain loop: every trace line passes here, and a generator costs twice as much.
    for needle in needles:  # noqa: SIM110 (see above)
        if needle in text:
            return True
    return False


def _may_assign_key(lowered: str) -> bool:
    """True when a key word is followed by ``:`` or ``=``, as `_KEY_VALUE` requires.

    `_KEY_VALUE` has no literal prefix, so it tries every position (about 100 us on a trace
    line); words like ``input_tokens`` in every model_call line must not send it there.
    """
    for word in _KEY_WORDS:
        start = lowered.find(word)
        while start != -1:
            if _ASSIGNMENT.match(lowered, start + len(word)):
                return True
            start = lowered.find(word, start + 1)
    return False
