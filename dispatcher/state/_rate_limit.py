"""`RateLimit`: at most `limit` events per `window_s` per key, counted in a `StateStore`
(fixed windows), so replicas sharing Redis share one allowance per provider or client."""

from __future__ import annotations

import time

from dispatcher.errors import ConfigError
from dispatcher.state._store import StateStore

__all__ = ["RateLimit"]


class RateLimit:
    """`allow(key)` takes one slot of the current window, or says there is none left."""

    def __init__(self, store: StateStore, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ConfigError(
                f"a rate limit needs limit >= 1 and window_s > 0, got {limit} and {window_s}",
                fix="e.g. RateLimit(store, 60, 60.0) for 60 a minute",
            )
        self.store = store
        self.limit = limit
        self.window_s = window_s

    def allow(self, key: str) -> bool:
        """True (and one slot used) when `key` has a slot left in this window."""
        window = int(time.time() // self.window_s)
        # Each window has its own counter, so a slow clock edge never carries counts over.
        used = self.store.add_expiring(f"rate:{key}:{window}", 1.0, self.window_s * 2)
        return used <= self.limit
