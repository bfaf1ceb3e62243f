"""The `StateStore` seam and its in-process implementation.

A store holds small named records shared by whoever opens the same store: float fields
added to atomically (bandit statistics, spend), counters that expire (rate-limit windows,
daily budgets) and cooldown marks. Every update is one atomic operation, so concurrent
writers never lose an update.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["LocalStateStore", "StateStore"]


@runtime_checkable
class StateStore(Protocol):
    """Shared state with atomic updates; `shared` says whether other processes see it."""

    @property
    def shared(self) -> bool:
        """Whether other processes see this state (False for local, or Redis while down)."""
        ...

    def add_floats(self, key: str, deltas: Mapping[str, float]) -> dict[str, float]:
        """Add each delta to its field of record `key`, atomically; return every field's
        new value."""
        ...

    def read_floats(self, key: str) -> dict[str, float]:
        """Every field of record `key` ({} when it has none)."""
        ...

    def add_expiring(self, key: str, amount: float, ttl_s: float) -> float:
        """Add to counter `key` (created with a lifetime of `ttl_s`); return its new value."""
        ...

    def cool_down(self, key: str, seconds: float) -> None:
        """Mark `key` as cooling down for `seconds`."""
        ...

    def cooldown_left(self, key: str) -> float:
        """Seconds `key` still cools down (0 when it does not)."""
        ...


class LocalStateStore:
    """State in this process's memory, guarded by a lock: right for one process, and the
    fallback when Redis is unreachable (then each process counts on its own)."""

    @property
    def shared(self) -> bool:
        return False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, float]] = {}
        self._expiring: dict[str, tuple[float, float]] = {}  # key -> (value, expires at)
        self._cooling: dict[str, float] = {}  # key -> until

    def add_floats(self, key: str, deltas: Mapping[str, float]) -> dict[str, float]:
        with self._lock:
            record = self._records.setdefault(key, {})
            for name, delta in deltas.items():
                record[name] = record.get(name, 0.0) + float(delta)
            return dict(record)

    def read_floats(self, key: str) -> dict[str, float]:
        with self._lock:
            return dict(self._records.get(key, {}))

    def add_expiring(self, key: str, amount: float, ttl_s: float) -> float:
        now = time.monotonic()
        with self._lock:
            value, expires = self._expiring.get(key, (0.0, now + ttl_s))
            if expires <= now:
                value, expires = 0.0, now + ttl_s
            value += float(amount)
            self._expiring[key] = (value, expires)
            return value

    def cool_down(self, key: str, seconds: float) -> None:
        with self._lock:
            self._cooling[key] = time.monotonic() + seconds

    def cooldown_left(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._cooling.get(key, 0.0) - time.monotonic())
