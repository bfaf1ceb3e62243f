"""Build a router from a config mapping (the ``dispatcher: router:`` section)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dispatcher._did_you_mean import did_you_mean
from dispatcher.errors import ConfigError
from dispatcher.routing.base import Router, StrongWeakPair

__all__ = ["ROUTER_TYPES", "build_router", "check_router_config"]

_ENTRY = "dispatcher.router"
_COMMON = {"type", "strong", "weak", "threshold", "margin", "name"}
_ALLOWED: dict[str, set[str]] = {
    "predictive": _COMMON | {"model_path", "embedder", "calibration"},
    "semantic": {
        "type",
        "name",
        "routes",
        "thresholds",
        "default_threshold",
        "top_k",
        "embedder",
        "fast_embedder",
        "fast_agreement",
    },
    "bandit": {
        "type",
        "name",
        "arms",
        "strong",
        "weak",
        "state_path",
        "alpha",
        "cost_weight",
        "ridge",
        "embedder",
        "projection",
    },
    "cascade": {"type", "name", "strong", "weak"},
    "random": _COMMON | {"seed", "calibration"},
    "length": _COMMON | {"calibration"},
}
ROUTER_TYPES = tuple(_ALLOWED)


def _path(
    config: Mapping[str, Any], key: str, base_dir: Path | None, *, required: bool
) -> Path | None:
    value = config.get(key)
    if value is None:
        if required:
            raise ConfigError(
                f"a {config['type']} router needs {key!r}",
                entry=_ENTRY,
                field=key,
                fix="run `dispatcher calibrate ... --config FILE` to train one and write this",
            )
        return None
    if not isinstance(value, str | Path):
        raise ConfigError(f"{key!r} must be a file path", entry=_ENTRY, field=key)
    path = Path(value).expanduser()
    return path if path.is_absolute() or base_dir is None else base_dir / path


def _embedder(config: Mapping[str, Any], default: str | None, key: str = "embedder") -> Any:
    from dispatcher.embeddings import build_embedder

    spec = config.get(key, default)
    if spec is None:
        return None
    if not isinstance(spec, str | Mapping):
        raise ConfigError(f"{key!r} must be a name like 'minilm:128'", entry=_ENTRY, field=key)
    return build_embedder(spec)


def _number(
    config: Mapping[str, Any],
    key: str,
    default: float,
    *,
    whole: bool = False,
    minimum: float | None = None,
    above: float | None = None,
    field: str | None = None,
) -> float:
    """`config[key]` as a finite number (NaN or inf would route silently or crash in int())."""
    value = config.get(key, default)
    want = "a whole number" if whole else "a finite number"
    if minimum is not None:
        want += f" >= {minimum:g}"
    if above is not None:
        want += f" > {above:g}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or (whole and value != int(value))
        or (minimum is not None and value < minimum)
        or (above is not None and value <= above)
    ):
        raise ConfigError(
            f"{key} must be a number ({want}), got {value!r}",
            entry=_ENTRY,
            field=field or key,
            fix=f"set {key} to {want}, or remove it for the default",
        )
    return float(value)


# Numeric keys and their constraints, checked when the file is loaded and again on build.
_NUMBER_RULES: dict[str, dict[str, Any]] = {
    "threshold": {},
    "margin": {"minimum": 0},
    "seed": {"whole": True},
    "top_k": {"whole": True, "minimum": 1},
    "default_threshold": {},
    "fast_agreement": {},
    "alpha": {"minimum": 0},
    "cost_weight": {},
    "ridge": {"above": 0},
    "projection": {"whole": True, "minimum": 1},
}


def _check_numbers(config: Mapping[str, Any]) -> None:
    for key, rule in _NUMBER_RULES.items():
        if key in config:
            _number(config, key, 0.0, **rule)
    thresholds = config.get("thresholds")
    if isinstance(thresholds, Mapping):
        for route in thresholds:
            _number(thresholds, route, 0.5, field=f"thresholds.{route}")


def _predictive(config: Mapping[str, Any], base_dir: Path | None) -> Router:
    from dispatcher.routing.predictive import PredictiveRouter

    model_path = _path(config, "model_path", base_dir, required=True)
    assert model_path is not None
    pair = StrongWeakPair.from_config(config, default_threshold=0.5)
    embedder = _embedder(config, None)
    return PredictiveRouter.load(model_path, pair=pair, embedder=embedder)


def _semantic(config: Mapping[str, Any], base_dir: Path | None) -> Router:
    from dispatcher.routing.semantic import SemanticRouter

    routes = config.get("routes")
    if not isinstance(routes, Mapping) or not all(
        isinstance(v, list) and all(isinstance(u, str) for u in v) for v in routes.values()
    ):
        raise ConfigError(
            "'routes' must map each route name to a list of example prompts",
            entry=_ENTRY,
            field="routes",
            fix="routes: {sql_analyst: ['top genres by revenue?', ...], coder: [...]}",
        )
    thresholds = config.get("thresholds", {})
    if not isinstance(thresholds, Mapping):
        raise ConfigError(
            "'thresholds' must map route names to numbers", entry=_ENTRY, field="thresholds"
        )
    return SemanticRouter(
        {str(k): list(v) for k, v in routes.items()},
        _embedder(config, "minilm:128"),
        thresholds={
            str(k): _number(thresholds, k, 0.5, field=f"thresholds.{k}") for k in thresholds
        },
        default_threshold=_number(config, "default_threshold", 0.5),
        top_k=int(_number(config, "top_k", 3, **_NUMBER_RULES["top_k"])),
        fast_embedder=_embedder(config, None, "fast_embedder"),
        fast_agreement=_number(config, "fast_agreement", 0.95),
    )


def _bandit(config: Mapping[str, Any], base_dir: Path | None) -> Router:
    from dispatcher.routing.bandit import BanditFeatures, LinUCBRouter

    strong = str(config.get("strong", "strong"))
    weak = str(config.get("weak", "weak"))
    arms = config.get("arms", [strong, weak])
    if not isinstance(arms, list) or not arms or not all(isinstance(a, str) for a in arms):
        raise ConfigError(
            "'arms' must be a non-empty list of route names", entry=_ENTRY, field="arms"
        )
    embedder = _embedder(config, None)
    projection = int(_number(config, "projection", 16, **_NUMBER_RULES["projection"]))
    return LinUCBRouter(
        arms,
        features=BanditFeatures(embedder, projection=projection),
        alpha=_number(config, "alpha", 1.0, **_NUMBER_RULES["alpha"]),
        cost_weight=_number(config, "cost_weight", 0.0),
        ridge=_number(config, "ridge", 1.0, **_NUMBER_RULES["ridge"]),
        state_path=_path(config, "state_path", base_dir, required=False),
        strong=strong,
        weak=weak,
    )


def _cascade(config: Mapping[str, Any], base_dir: Path | None) -> Router:
    from dispatcher.routing.cascade import CascadeRouter

    return CascadeRouter(
        weak=str(config.get("weak", "weak")), strong=str(config.get("strong", "strong"))
    )


def _random(config: Mapping[str, Any], base_dir: Path | None) -> Router:
    from dispatcher.routing.baselines import RandomRouter

    pair = StrongWeakPair.from_config(config, default_threshold=0.5)
    return RandomRouter(pair, seed=int(_number(config, "seed", 0, whole=True)))


def _length(config: Mapping[str, Any], base_dir: Path | None) -> Router:
    from dispatcher.routing.baselines import LengthRouter

    return LengthRouter(StrongWeakPair.from_config(config, default_threshold=2000.0))


_BUILDERS: dict[str, Callable[[Mapping[str, Any], Path | None], Router]] = {
    "predictive": _predictive,
    "semantic": _semantic,
    "bandit": _bandit,
    "cascade": _cascade,
    "random": _random,
    "length": _length,
}


def build_router(config: Mapping[str, Any], *, base_dir: str | Path | None = None) -> Router:
    """A router from its config, e.g. ``{"type": "predictive", "threshold": 0.42, ...}``.

    Relative paths (`model_path`, `state_path`) are resolved against `base_dir` when given
    (pass the config file's folder), else against the working directory.
    """
    kind = check_router_config(config)
    try:
        router = _BUILDERS[str(kind)](config, Path(base_dir) if base_dir is not None else None)
    except ImportError as exc:
        raise ConfigError(
            f"the {kind} router needs an optional dependency ({exc.name} is missing)",
            entry=_ENTRY,
            fix='pip install -e ".[embeddings]" (from the dispatcher repository root)',
        ) from exc
    if "name" in config:
        # The name is what traces show in the `route` event's `router` field.
        router.name = str(config["name"])
    return router


def check_router_config(config: Any) -> str:
    """Check the router's type and keys (cheap, no file read): the config file's load does it.

    Returns the router type.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(
            "the router config must be a mapping", entry=_ENTRY, fix="router: {type: ...}"
        )
    kind = config.get("type")
    if not isinstance(kind, str) or kind not in _BUILDERS:
        raise ConfigError(
            f"unknown router type {kind!r}",
            entry=_ENTRY,
            field="type",
            fix=did_you_mean(str(kind), ROUTER_TYPES) + f"use one of: {', '.join(ROUTER_TYPES)}",
        )
    extra = sorted(set(config) - _ALLOWED[str(kind)])
    if extra:
        raise ConfigError(
            f"unknown key(s) for a {kind} router: {', '.join(extra)}",
            entry=_ENTRY,
            field=extra[0],
            fix=did_you_mean(extra[0], _ALLOWED[str(kind)])
            + f"allowed keys: {', '.join(sorted(_ALLOWED[str(kind)]))}",
        )
    _check_numbers(config)
    return str(kind)
