"""`dispatcher: state:` and `spend_cap:` in a registry file."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RedisServer

from dispatcher import Dispatcher
from dispatcher.errors import BudgetExceeded, ConfigError
from dispatcher.state import DailySpendCap, RedisStateStore


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "dispatcher.yaml"
    path.write_text(
        "model_list:\n"
        "  - {model_name: small, litellm_params: {model: openai/small}}\n"
        "dispatcher:\n"
        "  tiers: {weak: small, strong: small}\n" + extra
    )
    return path


@pytest.mark.anyio
async def test_runs_stop_when_the_shared_daily_cap_is_spent(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    config = _config(
        tmp_path,
        f"  state: {redis_server.url}\n  spend_cap: {{usd_per_day: 0.5, key: team-a}}\n",
    )
    dispatcher = Dispatcher.from_config(config)
    assert dispatcher.spend_cap is not None
    assert isinstance(dispatcher.spend_cap.store, RedisStateStore)
    # Another replica spent today's allowance: this one refuses before calling any model.
    DailySpendCap(RedisStateStore(redis_server.url), 0.5, key="team-a").charge(0.5)
    with pytest.raises(BudgetExceeded, match="usd_per_day"):
        await dispatcher.run("anything")


def test_an_unknown_state_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="state"):
        Dispatcher.from_config(_config(tmp_path, "  state: memcached://x\n"))


def test_a_finished_run_is_charged_to_the_shared_cap(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from scenario import registry

    from dispatcher import Agent
    from dispatcher.testing import reply, tool_calls

    sales = Agent(name="sales", description="Sales figures.", tier="weak")
    reg, _small, _ = registry(
        [sales],
        small=[
            tool_calls(("sales", {"task": "q1"}), agent="dispatcher"),
            reply("10 units", agent="sales"),
            reply("Sales were 10 units.", agent="dispatcher"),
        ],
    )
    cap = DailySpendCap(RedisStateStore(redis_server.url), 5.0, key="team-b")
    result = Dispatcher(reg, runs_dir=tmp_path, spend_cap=cap).run_sync("How did q1 go?")
    assert result.cost_usd
    other_replica = DailySpendCap(RedisStateStore(redis_server.url), 5.0, key="team-b")
    assert other_replica.spent_today() == pytest.approx(result.cost_usd)
