"""`RateLimit`: at most `limit` events per `window_s` per key, counted in a `StateStore`
(fixed windows), so replicas sharing Redis share one allowance per provider or client."""

from __future__ import annotations

import math
import time

from dispatcher.errors import ConfigError
from dispatcher.state._store import StateStore

__all__ = ["RateLimit"]


class RateLimit:
    """`allow(key)` takes one slot of the current window, or says there is none left."""

    def __init__(self, store: StateStore, limit: int, window_s: float) -> None:
        # A NaN or infinite window failed in allow() (int() of it); 1.5 slots mean nothing.
        if (
            not isinstance(limit, int)
            or isinstance(limit, bool)
            or isinstance(window_s, bool)
            or not isinstance(window_s, int | float)
            or limit < 1
            or not 0 < window_s < math.inf
        ):
            raise ConfigError(
                f"a rate limit needs an integer limit >= 1 and a finite window_s > 0, got "
                f"{limit!r} and {window_s!r}",
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
