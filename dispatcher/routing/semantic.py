"""Semantic routing: routes are described by example utterances; a prompt goes to the route
whose examples it is most similar to, if that similarity clears the route's threshold.

Similarity to a route is the mean cosine of the prompt to its `top_k` closest examples.
Per-route thresholds can be fitted from labelled prompts (`fit_thresholds`): each is set
where it best separates the prompts that belong to the route from those that do not.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError
from dispatcher.routing.base import RouteContext, RouteDecision

__all__ = ["SemanticRouter"]


class SemanticRouter:
    """Nearest-route routing over embedded example utterances, with per-route thresholds."""

    def __init__(
        self,
        routes: Mapping[str, Sequence[str]],
        embedder: Embedder,
        *,
        thresholds: Mapping[str, float] | None = None,
        default_threshold: float = 0.5,
        top_k: int = 3,
        name: str = "semantic",
    ) -> None:
        empty = [r for r, examples in routes.items() if not examples]
        if not routes or empty:
            raise ConfigError(
                "every semantic route needs at least one example utterance"
                + (f"; none for {', '.join(empty)}" if empty else ""),
                field="routes",
                fix="give routes as {route_name: [example prompt, ...]}",
            )
        unknown = set(thresholds or {}) - set(routes)
        if unknown:
            raise ConfigError(
                f"thresholds given for unknown routes: {', '.join(sorted(unknown))}",
                field="thresholds",
                fix=f"use route names from: {', '.join(routes)}",
            )
        self.name = name
        self.routes = {r: tuple(examples) for r, examples in routes.items()}
        self.embedder = embedder
        self.thresholds = {r: float((thresholds or {}).get(r, default_threshold)) for r in routes}
        self.top_k = max(1, top_k)
        self._lock = threading.Lock()
        self._matrices: dict[str, NDArray[np.float32]] | None = None

    def _route_matrices(self) -> dict[str, NDArray[np.float32]]:
        if self._matrices is None:
            with self._lock:
                if self._matrices is None:
                    self._matrices = {r: self.embedder.embed(ex) for r, ex in self.routes.items()}
        return self._matrices

    def similarities(self, prompts: Sequence[str]) -> dict[str, NDArray[np.float64]]:
        """For each route, each prompt's mean cosine to its top_k closest examples."""
        vectors = self.embedder.embed(prompts)
        out: dict[str, NDArray[np.float64]] = {}
        for route, matrix in self._route_matrices().items():
            cosines = vectors @ matrix.T
            k = min(self.top_k, matrix.shape[0])
            top = np.partition(cosines, cosines.shape[1] - k, axis=1)[:, -k:]
            out[route] = top.mean(axis=1).astype(np.float64)
        return out

    def __call__(self, context: RouteContext) -> RouteDecision:
        allowed = [r for r in self.routes if not context.candidates or r in context.candidates]
        if not allowed:
            return RouteDecision(self.name, None, None, None, "no route is among the candidates")
        sims = self.similarities([context.prompt])
        best = max(allowed, key=lambda r: sims[r][0])
        score = float(sims[best][0])
        threshold = self.thresholds[best]
        if score >= threshold:
            reason = f"closest to {best!r} examples: similarity {score:.3f} >= {threshold:.3f}"
            return RouteDecision(self.name, best, score, threshold, reason)
        reason = f"unsure: best match {best!r} at {score:.3f} < threshold {threshold:.3f}"
        return RouteDecision(self.name, None, score, threshold, reason)

    def fit_thresholds(self, examples: Sequence[tuple[str, str | None]]) -> dict[str, float]:
        """Fit each route's threshold from (prompt, correct route or None) pairs.

        For the prompts whose best match is route r, accepting means routing to r. The
        threshold maximises correct accepts plus correct refusals among them; it sits halfway
        between the neighbouring similarities so it generalises a little past the examples.
        Routes that are never a best match keep their threshold. Returns the new thresholds.
        """
        if not examples:
            raise ConfigError("fit_thresholds needs labelled examples", fix="pass (prompt, route)")
        unknown = {label for _, label in examples if label is not None} - set(self.routes)
        if unknown:
            raise ConfigError(
                f"examples name unknown routes: {', '.join(sorted(unknown))}",
                fix=f"label examples with one of: {', '.join(self.routes)}, or None",
            )
        sims = self.similarities([prompt for prompt, _ in examples])
        names = list(self.routes)
        table = np.stack([sims[r] for r in names], axis=1)
        best = table.argmax(axis=1)
        for index, route in enumerate(names):
            mine = best == index
            if not mine.any():
                continue
            values = table[mine, index]
            correct = np.asarray([examples[int(i)][1] == route for i in np.flatnonzero(mine)])
            self.thresholds[route] = _best_cut(values, correct)
        return dict(self.thresholds)


def _best_cut(values: NDArray[np.float64], correct: NDArray[np.bool_]) -> float:
    """Threshold maximising (correct with value >= t) + (wrong with value < t)."""
    order = np.argsort(values)
    v, c = values[order], correct[order]
    # Candidate cut before position i: everything from i on is accepted.
    accepted_right = np.concatenate([np.cumsum(c[::-1])[::-1], [0]])
    refused_wrong = np.concatenate([[0], np.cumsum(~c)])
    score = accepted_right + refused_wrong
    i = int(np.argmax(score))
    if i == 0:
        return float(v[0] - 1e-6)
    if i == len(v):
        return float(v[-1] + 1e-6)
    return float((v[i - 1] + v[i]) / 2.0)
