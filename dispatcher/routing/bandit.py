"""A contextual bandit router (LinUCB) that learns online which route pays off.

Each route (arm) keeps a ridge-regression estimate of reward from the prompt's features,
with reward = quality - cost_weight * cost. The router picks the arm with the highest upper
confidence bound, and `update` folds in the outcome it observed. The state is a JSON file
written atomically after each update, so a restarted process carries on where it stopped.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError, DataError
from dispatcher.routing._features import FEATURE_NAMES, text_features
from dispatcher.routing._state_store import FileStateStore
from dispatcher.routing.base import RouteContext, RouteDecision
from dispatcher.trace.events import TASK_CHARS

if TYPE_CHECKING:
    from dispatcher.state import StateStore

__all__ = ["BanditFeatures", "LinUCBRouter", "replay"]

_STATE_VERSION = 1


class BanditFeatures:
    """Context vector: a bias, the cheap text features, and optionally a projected embedding.

    The embedding is reduced with a fixed seeded random projection so the bandit's matrices
    stay small (dimension ``1 + len(FEATURE_NAMES) + projection``).
    """

    def __init__(self, embedder: Embedder | None = None, *, projection: int = 16) -> None:
        self.embedder = embedder
        self.projection = projection if embedder is not None else 0
        self.dim = 1 + len(FEATURE_NAMES) + self.projection
        self.name = "text" + (f"+{embedder.name}/p{projection}" if embedder is not None else "")
        self._matrix: NDArray[np.float64] | None = None

    def __call__(self, prompts: Sequence[str]) -> NDArray[np.float64]:
        # The part of a prompt a trace keeps: feedback given later reads the task back from
        # the trace, and must update the context that was decided on.
        prompts = [p[:TASK_CHARS] for p in prompts]
        # Log-scaled counts are already O(1); no dataset statistics, so it works online.
        parts = [np.ones((len(prompts), 1)), text_features(prompts)]
        if self.embedder is not None:
            if self._matrix is None:
                rng = np.random.default_rng(1234)
                raw = rng.standard_normal((self.embedder.dim, self.projection))
                self._matrix = raw / math.sqrt(self.projection)
            parts.append(self.embedder.embed(prompts).astype(np.float64) @ self._matrix)
        return np.hstack(parts)


class _Arm:
    """One arm's statistics. Update `a` and `b` through `add` (or call `changed`): a
    decision uses A's inverse and theta, kept from one update to the next (two linear
    solves per arm per decision cost more than the rest of the routing decision)."""

    def __init__(self, dim: int, ridge: float) -> None:
        self.a = np.eye(dim) * ridge
        self.b = np.zeros(dim)
        self.pulls = 0
        self._inverse: NDArray[np.float64] | None = None
        self._theta: NDArray[np.float64] | None = None

    def add(self, x: NDArray[np.float64], reward: float) -> None:
        self.a += np.outer(x, x)
        self.b += reward * x
        self.pulls += 1
        self.changed()

    def changed(self) -> None:
        self._inverse = self._theta = None

    def estimate(self, x: NDArray[np.float64]) -> tuple[float, float]:
        """Predicted reward and the width of its confidence interval at context x."""
        inverse, theta = self._inverse, self._theta
        if inverse is None or theta is None:
            inverse = self._inverse = np.asarray(np.linalg.inv(self.a), dtype=np.float64)
            theta = self._theta = inverse @ self.b
        width = math.sqrt(max(float(x @ inverse @ x), 0.0))
        return float(theta @ x), width

    def to_json(self) -> dict[str, Any]:
        return {"A": self.a.tolist(), "b": self.b.tolist(), "pulls": self.pulls}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], dim: int, path: Path) -> _Arm:
        arm = cls(dim, 1.0)
        fix = "delete the state file to start learning afresh (or restore a backup)"
        try:
            arm.a = np.asarray(data["A"], dtype=np.float64).reshape(dim, dim)
            arm.b = np.asarray(data["b"], dtype=np.float64).reshape(dim)
            pulls = data.get("pulls", 0)
            arm.pulls = int(pulls)
        except (KeyError, ValueError, TypeError, OverflowError) as exc:
            raise DataError(f"bandit state arm is malformed ({exc})", file=path, fix=fix) from exc
        # A is ridge * I plus a sum of outer products: finite and positive definite. Anything
        # else (a hand edit, a bad copy) would route every prompt on NaN bounds or fail to
        # invert at the first decision.
        if not (np.isfinite(arm.a).all() and np.isfinite(arm.b).all()):
            raise DataError("bandit state arm holds NaN or infinite numbers", file=path, fix=fix)
        if arm.pulls < 0 or arm.pulls != pulls:
            raise DataError(
                f"bandit state arm has pulls {pulls!r}, not a count >= 0", file=path, fix=fix
            )
        try:
            np.linalg.cholesky(arm.a)
        except np.linalg.LinAlgError:
            raise DataError(
                "bandit state arm's matrix A is not positive definite (it cannot be the sum "
                "of a ridge prior and observed contexts)",
                file=path,
                fix=fix,
            ) from None
        return arm


class LinUCBRouter:
    """LinUCB over routes; ``alpha`` scales exploration, ``cost_weight`` is lambda in the reward.

    With a `state_path`, the learned state is loaded at start and saved after every update.
    `strong`/`weak` name the pair that `score` compares (estimated reward difference).
    """

    def __init__(
        self,
        arms: Sequence[str],
        *,
        features: BanditFeatures | None = None,
        alpha: float = 1.0,
        cost_weight: float = 0.0,
        ridge: float = 1.0,
        state_path: str | Path | None = None,
        strong: str = "strong",
        weak: str = "weak",
        name: str = "bandit",
    ) -> None:
        finite = all(math.isfinite(v) for v in (alpha, ridge, cost_weight))
        if not finite or alpha < 0 or ridge <= 0:
            raise ConfigError(
                "bandit needs finite numbers, alpha >= 0 and ridge > 0, got "
                f"alpha={alpha} ridge={ridge} cost_weight={cost_weight}",
                fix="use e.g. alpha: 1.0, ridge: 1.0 and cost_weight: 0.0",
            )
        self.name = name
        self.features = features or BanditFeatures()
        self.alpha = alpha
        self.cost_weight = cost_weight
        self.ridge = ridge
        self.strong = strong
        self.weak = weak
        self.state_path = Path(state_path) if state_path is not None else None
        # The JSON file, read-modify-written under a lock so processes lose no update.
        self.file_store = FileStateStore(self.state_path) if self.state_path is not None else None
        self._lock = threading.Lock()
        self._arms: dict[str, _Arm] = {}
        # The configured routes: a decision picks among these (the dispatcher's candidates
        # only narrow them), so `arms: [coder, sql_analyst]` is honoured.
        self.configured_arms = tuple(arms)
        if self.file_store is not None:
            self._adopt(self.file_store.read())
        for arm in arms:
            self._arms.setdefault(arm, _Arm(self.features.dim, ridge))
        self._store: StateStore | None = None
        self._store_read_at = 0.0
        self.store_refresh_s = 1.0

    def use_store(self, store: StateStore, *, refresh_s: float = 1.0) -> None:
        """Learn through a shared `StateStore` (e.g. Redis): every update is added to the
        store atomically, and decisions use the store's totals, re-read every `refresh_s`.
        The store keeps the sums of updates; the ridge prior stays this router's setting."""
        self._store, self.store_refresh_s = store, refresh_s
        self._read_store()

    def _store_key(self, arm: str) -> str:
        return f"bandit:{self.name}:{self.features.name}:{self.features.dim}:{arm}"

    def _set_from_store(self, arm: str, totals: Mapping[str, float]) -> None:
        dim, current = self.features.dim, self._arm(arm)
        current.a = np.eye(dim) * self.ridge
        current.b = np.zeros(dim)
        for field_name, value in totals.items():
            kind, _, place = field_name.partition(":")
            if kind == "A":
                row, col = place.split(",")
                current.a[int(row), int(col)] += value
            elif kind == "b":
                current.b[int(place)] = value
        current.pulls = int(totals.get("pulls", 0))
        current.changed()

    def _read_store(self) -> None:
        store = self._store
        if store is None:
            return
        with self._lock:
            for arm in list(self._arms):
                self._set_from_store(arm, store.read_floats(self._store_key(arm)))
            self._store_read_at = time.monotonic()

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(self._arms)

    def pulls(self, arm: str) -> int:
        return self._arms[arm].pulls if arm in self._arms else 0

    def _arm(self, name: str) -> _Arm:
        if name not in self._arms:
            self._arms[name] = _Arm(self.features.dim, self.ridge)
        return self._arms[name]

    def __call__(self, context: RouteContext) -> RouteDecision:
        x = self.features([context.prompt])[0]
        stale = time.monotonic() - self._store_read_at > self.store_refresh_s
        if self._store is not None and stale:
            self._read_store()
        offered = set(context.candidates)
        names = [a for a in self.configured_arms if a in offered] or list(context.candidates)
        names = names or list(self._arms)
        if not names:
            return RouteDecision(self.name, None, None, None, "no arms and no candidates")
        with self._lock:
            bounds = {}
            for arm in names:
                mean, width = self._arm(arm).estimate(x)
                bounds[arm] = (mean + self.alpha * width, mean, width)
        chosen = max(names, key=lambda a: bounds[a][0])
        ucb, mean, width = bounds[chosen]
        return RouteDecision(
            self.name,
            chosen,
            ucb,
            None,
            f"LinUCB: {chosen!r} has the highest bound {ucb:.3f} "
            f"(estimate {mean:.3f} + {self.alpha:g} x {width:.3f})",
        )

    def update(self, prompt: str, arm: str, quality: float, cost: float = 0.0) -> float:
        """Record the outcome of sending `prompt` to `arm`; returns the reward used."""
        reward = float(quality) - self.cost_weight * float(cost)
        if not math.isfinite(reward):
            raise ConfigError(
                f"a bandit reward must be a finite number, got {reward!r}",
                fix="pass a reward such as 1.0 (good) or 0.0 (bad)",
            )
        x = self.features([prompt])[0]
        with np.errstate(over="ignore", invalid="ignore"):
            finite = bool(np.isfinite(reward * x).all())
        if not finite:
            # Saved, an infinite statistic would make the state file unreadable.
            raise ConfigError(
                f"the bandit reward {reward!r} is too large for its statistics",
                fix="pass rewards on a small scale, such as 1.0 (good) or 0.0 (bad)",
            )
        with self._lock:
            if self._store is not None:  # a shared store adds updates atomically
                deltas = {f"A:{i},{j}": float(v) for (i, j), v in np.ndenumerate(np.outer(x, x))}
                deltas.update({f"b:{i}": float(v) for i, v in enumerate(reward * x)})
                deltas["pulls"] = 1.0
                self._set_from_store(arm, self._store.add_floats(self._store_key(arm), deltas))
                if self.file_store is not None:
                    state = self._state()
                    self.file_store.transact(lambda _latest: state)
            elif self.file_store is not None:

                def apply(latest: Any) -> dict[str, Any]:
                    # Start from what other processes saved since we loaded: no update is lost.
                    self._adopt(latest)
                    self._arm(arm).add(x, reward)
                    return self._state()

                self.file_store.transact(apply)
            else:
                self._arm(arm).add(x, reward)
        return reward

    def refresh(self) -> None:
        """Load the updates other processes saved to the shared state."""
        if self.file_store is not None:
            with self._lock:
                self._adopt(self.file_store.read())

    def estimates(self, prompts: Sequence[str]) -> dict[str, NDArray[np.float64]]:
        """Estimated reward of each arm for each prompt (no exploration bonus)."""
        x = self.features(prompts)
        with self._lock:
            thetas = {n: np.linalg.solve(a.a, a.b) for n, a in self._arms.items()}
        return {n: x @ theta for n, theta in thetas.items()}

    def scores(self, prompts: Sequence[str]) -> list[float]:
        """Estimated reward gain of the strong arm over the weak arm, per prompt."""
        est = self.estimates(prompts)
        zeros = np.zeros(len(prompts))
        gain = est.get(self.strong, zeros) - est.get(self.weak, zeros)
        return [float(v) for v in gain]

    def score(self, prompt: str) -> float:
        return self.scores([prompt])[0]

    def _state(self) -> dict[str, Any]:
        return {
            "version": _STATE_VERSION,
            "features": self.features.name,
            "dim": self.features.dim,
            "cost_weight": self.cost_weight,
            "arms": {name: arm.to_json() for name, arm in self._arms.items()},
        }

    def save(self) -> None:
        if self.file_store is None:
            raise ConfigError("this bandit has no state_path", fix="pass state_path=... to save")
        with self._lock:
            state = self._state()
            self.file_store.transact(lambda _latest: state)

    def _adopt(self, data: Any) -> None:
        """Take the arms of a saved state (None: nothing saved yet, keep ours)."""
        if data is None:
            return
        path = self.state_path or Path("<state store>")
        if not isinstance(data, dict) or data.get("version") != _STATE_VERSION:
            raise DataError("not a bandit state file of this version; delete it", file=path)
        if data.get("dim") != self.features.dim or data.get("features") != self.features.name:
            raise ConfigError(
                f"bandit state was learned with features {data.get('features')!r} "
                f"(dim {data.get('dim')}), this router uses {self.features.name!r} "
                f"(dim {self.features.dim})",
                file=path,
                fix="use the same embedder/projection settings, or delete the state file",
            )
        arms = data.get("arms")
        if not isinstance(arms, dict):
            raise DataError("bandit state has no 'arms' object; delete the file", file=path)
        loaded = {str(n): _Arm.from_json(a, self.features.dim, path) for n, a in arms.items()}
        for name in self._arms:  # arms configured here but not saved yet start fresh
            loaded.setdefault(name, _Arm(self.features.dim, self.ridge))
        self._arms = loaded


def replay(
    router: LinUCBRouter,
    prompts: Sequence[str],
    rewards: Mapping[str, ArrayLike],
    *,
    seed: int = 0,
) -> None:
    """Warm a bandit offline from logged outcomes with bandit feedback.

    Prompts are visited in a seeded random order; at each one the router picks an arm by
    its upper confidence bound and learns only that arm's reward, as it would online.
    Inverses are kept with Sherman-Morrison updates, so this is fast for thousands of rows.
    """
    arms = [a for a in rewards if a in router.arms] or list(rewards)
    x_all = router.features(prompts)
    values = {a: np.asarray(rewards[a], dtype=np.float64) for a in arms}
    stats = {a: router._arm(a) for a in arms}
    inverses = {a: np.linalg.inv(stats[a].a) for a in arms}
    order = np.random.default_rng(seed).permutation(len(prompts))
    with router._lock:
        for i in order:
            x = x_all[i]
            best, best_bound = arms[0], -math.inf
            for arm in arms:
                inv = inverses[arm]
                mean = float(x @ (inv @ stats[arm].b))
                bound = mean + router.alpha * math.sqrt(max(float(x @ inv @ x), 0.0))
                if bound > best_bound:
                    best, best_bound = arm, bound
            stat, inv = stats[best], inverses[best]
            ix = inv @ x
            inverses[best] = inv - np.outer(ix, ix) / (1.0 + float(x @ ix))
            stat.add(x, float(values[best][i]))
        if router.file_store is not None:
            state = router._state()
            router.file_store.transact(lambda _latest: state)
