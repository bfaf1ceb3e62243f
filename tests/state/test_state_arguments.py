"""DailySpendCap and RateLimit built in code: a number that is not one (NaN, text, a bool,
infinity) is a ConfigError when made, not a cap that never refuses or a crash later."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher.errors import BudgetExceeded, ConfigError
from dispatcher.state import DailySpendCap, LocalStateStore, RateLimit, open_state_store


@pytest.mark.parametrize("usd", [float("nan"), "5", True, 0, -1.0])
def test_a_daily_cap_that_is_not_a_positive_number_is_refused(usd: Any) -> None:
    # NaN passed the `<= 0` check, and `spent >= nan` is never true: no cap at all.
    with pytest.raises(ConfigError, match="daily USD cap"):
        DailySpendCap(LocalStateStore(), usd)


@pytest.mark.parametrize("usd", [float("nan"), float("inf"), -1.0, "0.5"])
def test_a_charge_that_is_not_a_cost_is_refused_and_the_cap_still_holds(usd: Any) -> None:
    # A NaN charge made today's total NaN, so the cap never refused again that day; a
    # negative one gave allowance back.
    cap = DailySpendCap(LocalStateStore(), 1.0)
    cap.charge(1.0)
    with pytest.raises(ConfigError, match="cost"):
        cap.charge(usd)
    with pytest.raises(BudgetExceeded):
        cap.check()


@pytest.mark.parametrize(
    ("limit", "window_s"),
    [(60, float("nan")), (60, float("inf")), (1.5, 60.0), ("60", 60.0), (True, 60.0), (60, "1")],
)
def test_a_rate_limit_of_numbers_that_are_not_is_refused_when_made(
    limit: Any, window_s: Any
) -> None:
    # window_s NaN or inf passed and allow() then failed with ValueError / OverflowError.
    with pytest.raises(ConfigError, match="rate limit"):
        RateLimit(LocalStateStore(), limit, window_s)


def test_a_rate_limit_still_counts() -> None:
    limit = RateLimit(LocalStateStore(), 2, 60.0)
    assert [limit.allow("k") for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("url", [6379, b"redis://localhost", ["local"]])
def test_a_state_url_that_is_not_text_is_a_config_error(url: Any) -> None:
    with pytest.raises(ConfigError, match="state store"):
        open_state_store(url)


def test_an_unknown_state_url_is_not_echoed_with_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        open_state_store("redis:/:hunter2secret@cache.internal:6379/0")  # one slash short
    assert "hunter2secret" not in str(caught.value)
    assert "cache.internal" in str(caught.value)
