"""`RedisStateStore`: the `StateStore` in Redis, shared by every process that opens the URL.

Each update is one Lua script (Redis runs a script atomically), so two writers adding to the
same record never lose an increment. When Redis cannot be reached, the store warns once and
carries on with a `LocalStateStore` of this process (see docs/scaling.md for what that means);
it tries Redis again after `retry_s`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from dispatcher.errors import ConfigError
from dispatcher.state._store import LocalStateStore

__all__ = ["RedisStateStore", "StateFallbackWarning"]

T = TypeVar("T")

# Adds ARGV pairs (field, delta) to hash KEYS[1]; returns the whole hash, as strings.
_ADD_FLOATS = """
for i = 1, #ARGV, 2 do
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[i], ARGV[i + 1])
end
return redis.call('HGETALL', KEYS[1])
"""
# Adds ARGV[1] to counter KEYS[1]; a new counter lives ARGV[2] milliseconds.
_ADD_EXPIRING = """
local value = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


class StateFallbackWarning(RuntimeWarning):
    """Redis was unreachable: this process uses its own local state for now."""


class RedisStateStore:
    """A `StateStore` in Redis, falling back to process-local state while Redis is down."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "dispatcher:",
        timeout_s: float = 0.5,
        retry_s: float = 30.0,
    ) -> None:
        try:
            import redis
        except ImportError:
            raise ConfigError(
                "a redis:// state needs the `redis` extra",
                fix='pip install -e ".[redis]" (from the dispatcher repository root), '
                "or drop `dispatcher: state:`",
            ) from None
        self._errors: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)
        try:
            self._client = redis.Redis.from_url(
                url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
            )
        except ValueError as exc:
            raise ConfigError(
                f"not a Redis URL ({exc})", field="state", fix="use redis://HOST:PORT/DB"
            ) from None
        self.url = url
        self.prefix = prefix
        self.retry_s = retry_s
        self.fallback = LocalStateStore()
        self._down_since: float | None = None
        self._add_floats = self._client.register_script(_ADD_FLOATS)
        self._add_expiring = self._client.register_script(_ADD_EXPIRING)

    @property
    def shared(self) -> bool:
        """False while this process is on its local fallback."""
        return self._down_since is None

    def _call(self, remote: Callable[[], T], local: Callable[[], T]) -> T:
        if self._down_since is not None:
            if time.monotonic() - self._down_since < self.retry_s:
                return local()
            self._down_since = None  # time to try Redis again
        try:
            return remote()
        except self._errors as exc:
            # Warn first: with the warning turned into an error, every call raises instead.
            warnings.warn(
                f"Redis at {self._safe_url()} is unreachable ({exc}); this process uses its "
                f"own local state (not shared with other processes) and retries in "
                f"{self.retry_s:g} s",
                StateFallbackWarning,
                stacklevel=3,
            )
            self._down_since = time.monotonic()
            return local()

    def _safe_url(self) -> str:
        kwargs: dict[str, Any] = self._client.connection_pool.connection_kwargs
        return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"  # no password

    def add_floats(self, key: str, deltas: Mapping[str, float]) -> dict[str, float]:
        def remote() -> dict[str, float]:
            args: list[str] = []
            for name, delta in deltas.items():
                args += [name, repr(float(delta))]
            flat = self._add_floats(keys=[self.prefix + key], args=args)
            return {_text(flat[i]): float(flat[i + 1]) for i in range(0, len(flat), 2)}

        return self._call(remote, lambda: self.fallback.add_floats(key, deltas))

    def read_floats(self, key: str) -> dict[str, float]:
        def remote() -> dict[str, float]:
            raw: dict[Any, Any] = self._client.hgetall(self.prefix + key)
            return {_text(name): float(value) for name, value in raw.items()}

        return self._call(remote, lambda: self.fallback.read_floats(key))

    def add_expiring(self, key: str, amount: float, ttl_s: float) -> float:
        def remote() -> float:
            args: list[str | int] = [repr(float(amount)), max(1, int(ttl_s * 1000))]
            return float(self._add_expiring(keys=[self.prefix + key], args=args))

        return self._call(remote, lambda: self.fallback.add_expiring(key, amount, ttl_s))

    def cool_down(self, key: str, seconds: float) -> None:
        def remote() -> None:
            self._client.set(self.prefix + key, 1, px=max(1, int(seconds * 1000)))

        self._call(remote, lambda: self.fallback.cool_down(key, seconds))

    def cooldown_left(self, key: str) -> float:
        def remote() -> float:
            left = int(self._client.pttl(self.prefix + key))
            return max(0.0, left / 1000)

        return self._call(remote, lambda: self.fallback.cooldown_left(key))


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
