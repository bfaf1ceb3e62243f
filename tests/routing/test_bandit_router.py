"""LinUCB: learns which arm pays for which context, and its state survives a restart."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from dispatcher.errors import ConfigError, DataError
from dispatcher.routing.bandit import BanditFeatures, LinUCBRouter, replay
from dispatcher.routing.base import RouteContext

HARD = "Solve 17 * 23 + 4 = x; what is x? Also compute 3^5 / 9 and 12 - 7 * 2."
EASY = "name a colour"


def _train(router: LinUCBRouter, rounds: int = 120) -> None:
    rng = random.Random(0)
    for _ in range(rounds):
        prompt = HARD if rng.random() < 0.5 else EASY
        decision = router(RouteContext(prompt, ("strong", "weak")))
        assert decision.chosen is not None
        # The weak model fails maths; both are fine on easy prompts; strong costs more.
        good = decision.chosen == "strong" or prompt == EASY
        cost = 1.0 if decision.chosen == "strong" else 0.0
        router.update(prompt, decision.chosen, quality=1.0 if good else 0.0, cost=cost)


def test_learns_strong_for_hard_and_weak_for_easy() -> None:
    router = LinUCBRouter(["strong", "weak"], alpha=0.2, cost_weight=0.3)
    _train(router)
    assert router(RouteContext(HARD, ("strong", "weak"))).chosen == "strong"
    assert router(RouteContext(EASY, ("strong", "weak"))).chosen == "weak"
    assert router.score(HARD) > 0 > router.score(EASY)


def test_state_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "bandit.json"
    first = LinUCBRouter(["strong", "weak"], alpha=0.2, cost_weight=0.3, state_path=path)
    _train(first)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files
    restarted = LinUCBRouter(["strong", "weak"], alpha=0.2, cost_weight=0.3, state_path=path)
    assert restarted.pulls("strong") == first.pulls("strong") > 0
    assert restarted.scores([HARD, EASY]) == pytest.approx(first.scores([HARD, EASY]))
    decision = restarted(RouteContext(HARD, ("strong", "weak")))
    assert decision.chosen == "strong" and "LinUCB" in decision.reason
    state = json.loads(path.read_text())
    assert state["version"] == 1 and set(state["arms"]) == {"strong", "weak"}


def test_without_configured_arms_unknown_candidates_become_new_arms() -> None:
    router = LinUCBRouter([], alpha=1.0)
    decision = router(RouteContext(EASY, ("strong", "weak", "medium")))
    assert decision.chosen in ("strong", "weak", "medium")
    assert "medium" in router.arms


def test_configured_arms_are_honoured_whatever_else_is_offered() -> None:
    # Issue 18: the dispatcher offers every specialist plus strong/weak; a bandit configured
    # with two arms must choose between those two, never among the whole offer.
    router = LinUCBRouter(["coder", "sql_analyst"], alpha=1.0)
    for prompt in (EASY, HARD, "x" * 500):
        offered = ("sql_analyst", "writer", "coder", "strong", "weak")
        assert router(RouteContext(prompt, offered)).chosen in ("coder", "sql_analyst")
    assert set(router.arms) == {"coder", "sql_analyst"}


def test_state_from_other_features_is_refused(tmp_path: Path, embedder: object) -> None:
    path = tmp_path / "bandit.json"
    LinUCBRouter(["a", "b"], state_path=path).save()
    with pytest.raises(ConfigError, match="delete the state file"):
        LinUCBRouter(["a", "b"], features=BanditFeatures(embedder, projection=4), state_path=path)  # type: ignore[arg-type]
    path.write_text("{broken", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON"):
        LinUCBRouter(["a", "b"], state_path=path)


def test_replay_learns_from_logged_outcomes() -> None:
    prompts = [HARD, EASY] * 100
    rewards = {"strong": np.ones(200), "weak": np.array([0.0, 1.0] * 100)}
    router = LinUCBRouter(["strong", "weak"], alpha=0.5)
    replay(router, prompts, rewards, seed=1)
    assert router.pulls("strong") + router.pulls("weak") == 200
    assert router.score(HARD) > router.score(EASY)


def _state_file(tmp_path: Path, arm: dict[str, object]) -> Path:
    dim = BanditFeatures().dim
    state = {"version": 1, "features": "text", "dim": dim, "cost_weight": 0.0}
    state["arms"] = {"strong": {"A": np.eye(dim).tolist(), "b": [0.0] * dim, **arm}}
    path = tmp_path / "bandit.json"
    path.write_text(json.dumps(state))
    return path


@pytest.mark.parametrize(
    "arm",
    [
        {"A": np.zeros((BanditFeatures().dim,) * 2).tolist()},  # singular: no inverse
        {"A": np.full((BanditFeatures().dim,) * 2, float("nan")).tolist()},
        {"b": [float("inf")] * BanditFeatures().dim},
        {"pulls": float("inf")},
        {"pulls": -1},
    ],
)
def test_a_damaged_state_file_is_a_data_error_not_nan_routing(
    tmp_path: Path, arm: dict[str, object]
) -> None:
    # Before: a singular A raised LinAlgError at the first decision, NaN statistics routed
    # every prompt to the first arm with a bound of nan, pulls: inf raised OverflowError.
    with pytest.raises(DataError, match="bandit state") as caught:
        router = LinUCBRouter(["strong", "weak"], state_path=_state_file(tmp_path, arm))
        router(RouteContext(EASY, ("strong", "weak")))
    assert caught.value.fix


@pytest.mark.parametrize(
    "settings",
    [
        {"alpha": float("nan")},
        {"alpha": float("inf")},
        {"ridge": float("nan")},
        {"ridge": float("inf")},
        {"cost_weight": float("nan")},
    ],
)
def test_non_finite_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="finite"):
        LinUCBRouter(["strong", "weak"], **settings)


def test_a_reward_too_large_for_the_statistics_is_refused_before_it_is_saved(
    tmp_path: Path,
) -> None:
    # 1e308 is finite, but reward x features is not: the state was saved with inf in it and
    # the next process refused the whole file (all learning lost).
    path = tmp_path / "bandit.json"
    router = LinUCBRouter(["strong", "weak"], state_path=path)
    router.update(HARD, "strong", 1.0)
    with pytest.raises(ConfigError, match="reward"):
        router.update(HARD, "strong", 1e308)
    LinUCBRouter(["strong", "weak"], state_path=path)  # the saved state still loads
    assert router.pulls("strong") == 1
