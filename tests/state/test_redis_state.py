"""Shared state through a real redis-server: atomic updates, budgets, cooldowns, fallback."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import RedisServer, free_port

from dispatcher.errors import BudgetExceeded, ConfigError
from dispatcher.routing.bandit import LinUCBRouter
from dispatcher.state import (
    DailySpendCap,
    LocalStateStore,
    RedisStateStore,
    StateFallbackWarning,
    open_state_store,
)

UPDATES = 150
# One process: `UPDATES` bandit updates of arm "weak" through the Redis store at argv[1].
WRITER = f"""
import sys
from dispatcher.routing.bandit import LinUCBRouter
from dispatcher.state import open_state_store
router = LinUCBRouter(["weak", "strong"])
router.use_store(open_state_store(sys.argv[1]))
for n in range({UPDATES}):
    router.update("prompt number " + str(n % 7), "weak", 1.0)
"""


def test_two_processes_updating_the_bandit_lose_no_update(redis_server: RedisServer) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, redis_server.url]) for _ in range(2)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]

    router = LinUCBRouter(["weak", "strong"])
    router.use_store(open_state_store(redis_server.url))
    assert router.pulls("weak") == 2 * UPDATES
    # The same updates applied in one process give the same statistics.
    alone = LinUCBRouter(["weak", "strong"])
    for _ in range(2):
        for n in range(UPDATES):
            alone.update("prompt number " + str(n % 7), "weak", 1.0)
    shared_arm, local_arm = router._arms["weak"], alone._arms["weak"]
    np.testing.assert_allclose(shared_arm.a, local_arm.a, rtol=1e-9)
    np.testing.assert_allclose(shared_arm.b, local_arm.b, rtol=1e-9)
    assert router.score("prompt number 3") == pytest.approx(alone.score("prompt number 3"))


def test_a_router_sees_another_routers_updates(redis_server: RedisServer) -> None:
    first, second = LinUCBRouter(["weak"]), LinUCBRouter(["weak"])
    first.use_store(open_state_store(redis_server.url))
    second.use_store(open_state_store(redis_server.url), refresh_s=0.0)
    first.update("a prompt", "weak", 1.0)
    second(_context("a prompt"))  # a decision re-reads the store when it is stale
    assert second.pulls("weak") == 1


def test_the_daily_cap_is_shared_by_every_process(redis_server: RedisServer) -> None:
    one = DailySpendCap(RedisStateStore(redis_server.url), 1.0, key="team-a")
    other = DailySpendCap(RedisStateStore(redis_server.url), 1.0, key="team-a")
    one.check()
    one.charge(0.6)
    other.check()  # 0.6 of 1.0 spent
    other.charge(0.5)
    with pytest.raises(BudgetExceeded) as refused:
        one.check()
    assert refused.value.budget == "usd_per_day"
    assert refused.value.spent == pytest.approx(1.1)
    DailySpendCap(RedisStateStore(redis_server.url), 1.0, key="team-b").check()  # per key


def test_cooldowns_are_shared(redis_server: RedisServer) -> None:
    RedisStateStore(redis_server.url).cool_down("provider:openai", 30)
    left = RedisStateStore(redis_server.url).cooldown_left("provider:openai")
    assert 29 < left <= 30
    assert RedisStateStore(redis_server.url).cooldown_left("provider:other") == 0


def test_redis_down_falls_back_to_local_state_with_a_warning() -> None:
    store = RedisStateStore(f"redis://127.0.0.1:{free_port()}/0", retry_s=3600)
    with pytest.warns(StateFallbackWarning, match="own local state"):
        totals = store.add_floats("k", {"x": 1.0})
    assert totals == {"x": 1.0}
    assert not store.shared
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning, not one per call
        assert store.add_floats("k", {"x": 2.0}) == {"x": 3.0}


def test_a_bandit_keeps_learning_when_redis_goes_away(redis_server: RedisServer) -> None:
    router = LinUCBRouter(["weak"])
    router.use_store(RedisStateStore(redis_server.url, retry_s=3600))
    router.update("p", "weak", 1.0)
    redis_server.stop()
    with pytest.warns(StateFallbackWarning):
        router.update("p", "weak", 1.0)
    # The fallback holds only this process's updates made since Redis went away.
    assert router.pulls("weak") == 1


def test_the_warning_names_no_password() -> None:
    store = RedisStateStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0", retry_s=3600)
    with pytest.warns(StateFallbackWarning) as caught:
        store.read_floats("k")
    assert "hunter2" not in str(caught[0].message)


def test_local_store_and_unknown_urls() -> None:
    assert isinstance(open_state_store(None), LocalStateStore)
    assert isinstance(open_state_store("local"), LocalStateStore)
    with pytest.raises(ConfigError, match="redis://"):
        open_state_store("memcached://x")


def _context(prompt: str):  # type: ignore[no-untyped-def]
    from dispatcher.routing.base import RouteContext

    return RouteContext(prompt=prompt, candidates=("weak",))


def test_results_are_json_floats(tmp_path: Path, redis_server: RedisServer) -> None:
    totals = RedisStateStore(redis_server.url).add_floats("r", {"a": 0.1, "b": -2})
    assert json.loads(json.dumps(totals)) == {"a": 0.1, "b": -2.0}


def test_a_rate_limit_is_one_allowance_for_every_process(redis_server: RedisServer) -> None:
    from dispatcher.state import RateLimit

    one = RateLimit(RedisStateStore(redis_server.url), 3, 3600)
    other = RateLimit(RedisStateStore(redis_server.url), 3, 3600)
    granted = [one.allow("openai"), other.allow("openai"), one.allow("openai")]
    assert granted == [True, True, True]
    assert not other.allow("openai")
    assert one.allow("anthropic")  # per key


def test_the_fallback_warning_can_be_made_an_error_for_every_call() -> None:
    store = RedisStateStore(f"redis://127.0.0.1:{free_port()}/0", retry_s=3600)
    cap = DailySpendCap(store, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StateFallbackWarning)
        for _ in range(2):  # not only the first call: spending stops while Redis is down
            with pytest.raises(StateFallbackWarning):
                cap.check()
