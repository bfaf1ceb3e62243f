"""Fast routers: decide which route (specialist, tier or model) takes a prompt.

`base` holds the seam (RouteContext -> RouteDecision). Strategies: `semantic`,
`predictive`, `cascade`, `bandit`, and the `baselines`. `metrics`, `evaluation` and
`calibration` measure routers on preference datasets and fit their thresholds.
Strategy modules need numpy (the `embeddings` extra); this package imports them lazily.
"""

from dispatcher.routing._factory import ROUTER_TYPES, build_router
from dispatcher.routing.base import (
    RouteContext,
    RouteDecision,
    Router,
    ScoringRouter,
    StrongWeakPair,
)

__all__ = [
    "ROUTER_TYPES",
    "RouteContext",
    "RouteDecision",
    "Router",
    "ScoringRouter",
    "StrongWeakPair",
    "build_router",
]
