"""State shared by processes: bandit statistics, budgets that span runs, cooldowns and
rate limits.

`open_state_store("redis://...")` gives a Redis-backed store (the optional extra `redis`);
anything else, or no URL, gives this process's own `LocalStateStore`. Redis is imported only
when a Redis URL is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dispatcher.errors import ConfigError
from dispatcher.state._budget import DailySpendCap
from dispatcher.state._rate_limit import RateLimit
from dispatcher.state._store import LocalStateStore, StateStore

if TYPE_CHECKING:
    from dispatcher.state._redis import RedisStateStore, StateFallbackWarning

__all__ = [
    "DailySpendCap",
    "LocalStateStore",
    "RateLimit",
    "RedisStateStore",
    "StateFallbackWarning",
    "StateStore",
    "open_state_store",
]


def open_state_store(url: str | None) -> StateStore:
    """The store a `dispatcher: state:` value names: `redis://` / `rediss://` / `unix://`
    URLs open Redis; `local` or nothing is process-local."""
    if url is None or url == "local":
        return LocalStateStore()
    if isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://")):
        from dispatcher.state._redis import RedisStateStore

        return RedisStateStore(url)
    raise ConfigError(
        f"unknown state store {_without_password(url)!r}"
        if isinstance(url, str)
        else f"a state store is named by a URL string, got {type(url).__name__}",
        field="state",
        fix="use redis://HOST:PORT/DB for shared state, or local",
    )


def _without_password(url: str) -> str:
    """The URL with what precedes its last '@' (user and password) hidden."""
    scheme, at, rest = url.rpartition("@")
    if not at:
        return url
    head = scheme.split("//", 1)[0] + "//" if "//" in scheme else ""
    return f"{head}***@{rest}"


def __getattr__(name: str) -> object:
    # Lazy: importing dispatcher.state must not import redis.
    if name in ("RedisStateStore", "StateFallbackWarning"):
        from dispatcher.state import _redis

        return getattr(_redis, name)
    raise AttributeError(name)
