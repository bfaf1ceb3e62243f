"""`DailySpendCap`: a USD cap per key per UTC day, counted in a `StateStore` so that every
process sharing the store (gateway replicas, batch workers) draws on the same allowance."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from dispatcher.errors import BudgetExceeded, ConfigError
from dispatcher.state._store import StateStore

__all__ = ["DailySpendCap"]

_TWO_DAYS_S = 2 * 24 * 3600.0  # a day's counter outlives its day, then Redis drops it


class DailySpendCap:
    """Refuses new work once today's spend under `key` reached `usd_per_day`.

    Checked before a run and charged after it, so a run that starts under the cap may end
    above it by at most its own cost (runs' own `budgets.usd` bounds that).
    """

    def __init__(self, store: StateStore, usd_per_day: float, *, key: str = "default") -> None:
        # NaN passed a `<= 0` check and no spend is ever `>= nan`: the cap would never refuse.
        if not _is_number(usd_per_day) or not usd_per_day > 0:
            raise ConfigError(
                f"a daily USD cap must be a number above 0, got {usd_per_day!r}", fix="e.g. 5.0"
            )
        self.store = store
        self.usd_per_day = usd_per_day
        self.key = key

    def _counter(self) -> str:
        return f"spend:{self.key}:{datetime.now(UTC):%Y-%m-%d}"

    def spent_today(self) -> float:
        return self.store.add_expiring(self._counter(), 0.0, _TWO_DAYS_S)

    def check(self) -> None:
        """Raise `BudgetExceeded` ("usd_per_day") when today's allowance is used up."""
        spent = self.spent_today()
        if spent >= self.usd_per_day:
            raise BudgetExceeded("usd_per_day", limit=self.usd_per_day, spent=round(spent, 6))

    def charge(self, usd: float | None) -> float:
        """Add a finished run's cost; returns today's total."""
        if usd is not None and (not _is_number(usd) or not math.isfinite(usd) or usd < 0):
            # A NaN total never reaches the cap again today; a negative one gives money back.
            raise ConfigError(
                f"a run's cost must be a finite number >= 0 (or None), got {usd!r}",
                fix="charge the run's cost_usd",
            )
        return self.store.add_expiring(self._counter(), float(usd or 0.0), _TWO_DAYS_S)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
