"""The router seam: a callable over a frozen context that returns a decision.

The dispatcher asks its configured router first; a decision with ``chosen=None`` means
the router is unsure and the dispatcher's own model decides. Routers that rank prompts
for a strong/weak pair also offer ``score(prompt)`` = P(the strong model is needed), which
evaluation and calibration use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dispatcher.errors import ConfigError

__all__ = [
    "RouteContext",
    "RouteDecision",
    "Router",
    "ScoringRouter",
    "StrongWeakPair",
    "scores_of",
]


@dataclass(frozen=True, slots=True)
class RouteContext:
    """What a router sees: the prompt, the route names it may choose from, and extras."""

    prompt: str
    candidates: tuple[
        str, ...
    ]  # route names: specialist names or model names/tiers ("strong","weak")
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """A routing decision with the evidence for it (recorded in the `route` trace event)."""

    router: str
    chosen: str | None  # None = unsure -> the dispatcher asks its model
    score: float | None
    threshold: float | None
    reason: str


class Router(Protocol):
    """Anything that turns a `RouteContext` into a `RouteDecision`."""

    name: str

    def __call__(self, context: RouteContext) -> RouteDecision: ...


@runtime_checkable
class ScoringRouter(Protocol):
    """A strong/weak router that can rank prompts: higher score = strong model more needed."""

    name: str

    def __call__(self, context: RouteContext) -> RouteDecision: ...

    def score(self, prompt: str) -> float: ...


@dataclass(frozen=True, slots=True)
class StrongWeakPair:
    """The two route names a strong/weak router chooses between, and the threshold.

    Scores closer to the threshold than `margin` are "unsure" (no route chosen), so the
    dispatcher's model decides the borderline cases.
    """

    strong: str = "strong"
    weak: str = "weak"
    threshold: float = 0.5
    margin: float = 0.0

    def decide(self, router: str, score: float, context: RouteContext, why: str) -> RouteDecision:
        """Strong when ``score >= threshold``; unsure near the threshold or off the candidates."""
        wanted = self.strong if score >= self.threshold else self.weak
        side = ">=" if score >= self.threshold else "<"
        reason = f"{why}: score {score:.3f} {side} threshold {self.threshold:.3f} -> {wanted}"
        if abs(score - self.threshold) < self.margin:
            reason = f"unsure: {why} {score:.3f} is within {self.margin:g} of {self.threshold:.3f}"
            return RouteDecision(router, None, score, self.threshold, reason)
        if context.candidates and wanted not in context.candidates:
            return RouteDecision(
                router, None, score, self.threshold, f"{reason}, but {wanted!r} is not a candidate"
            )
        return RouteDecision(router, wanted, score, self.threshold, reason)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, default_threshold: float) -> StrongWeakPair:
        strong = config.get("strong", "strong")
        weak = config.get("weak", "weak")
        threshold = config.get("threshold", default_threshold)
        margin = config.get("margin", 0.0)
        if not isinstance(strong, str) or not isinstance(weak, str) or strong == weak:
            raise ConfigError(
                f"router needs two different route names, got strong={strong!r} weak={weak!r}",
                field="strong/weak",
                fix="set e.g. strong: strong and weak: weak (tier names or model names)",
            )
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ConfigError(
                f"threshold must be a number, got {threshold!r}",
                field="threshold",
                fix="run `dispatcher calibrate` to write a fitted threshold",
            )
        if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
            raise ConfigError(
                f"margin must be a number >= 0, got {margin!r}",
                field="margin",
                fix="use 0 to always decide, or e.g. 0.05 to leave borderline prompts to the model",
            )
        return cls(strong=strong, weak=weak, threshold=float(threshold), margin=float(margin))


def scores_of(router: ScoringRouter, prompts: Sequence[str]) -> list[float]:
    """Scores for many prompts; uses a router's batch `scores` method when it has one."""
    batch = getattr(router, "scores", None)
    if callable(batch):
        return [float(x) for x in batch(prompts)]
    return [router.score(p) for p in prompts]
