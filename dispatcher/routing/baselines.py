"""Reference routers: random, prompt length, and (for evaluation only) the hindsight oracle."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from dispatcher.routing.base import RouteContext, RouteDecision, StrongWeakPair

__all__ = ["LengthRouter", "RandomRouter"]


class RandomRouter:
    """Scores are uniform in [0, 1), derived from a hash of (seed, prompt): reproducible.

    With threshold t it sends a share of about 1 - t of prompts to the strong model.
    """

    def __init__(self, pair: StrongWeakPair | None = None, *, seed: int = 0) -> None:
        self.name = "random"
        self.pair = pair or StrongWeakPair(threshold=0.5)
        self.seed = seed

    def score(self, prompt: str) -> float:
        digest = hashlib.blake2b(f"{self.seed}\0{prompt}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") / 2.0**64

    def __call__(self, context: RouteContext) -> RouteDecision:
        return self.pair.decide(self.name, self.score(context.prompt), context, "random draw")


class LengthRouter:
    """Longer prompts go to the strong model; the score is the prompt length in characters."""

    def __init__(self, pair: StrongWeakPair | None = None) -> None:
        self.name = "length"
        self.pair = pair or StrongWeakPair(threshold=2000.0)

    def score(self, prompt: str) -> float:
        return float(len(prompt))

    def scores(self, prompts: Sequence[str]) -> list[float]:
        return [float(len(p)) for p in prompts]

    def __call__(self, context: RouteContext) -> RouteDecision:
        return self.pair.decide(self.name, self.score(context.prompt), context, "prompt length")
