"""Semantic routing: routes are described by example utterances; a prompt goes to the route
whose examples it is most similar to, if that similarity clears the route's threshold.

Similarity to a route is the mean cosine of the prompt to its `top_k` closest examples.
Per-route thresholds can be fitted from labelled prompts (`fit_thresholds`): each is set
where it best separates the prompts that belong to the route from those that do not.

With a `fast_embedder` (e.g. ``minilm-static``) the router is a cascade: the prompt is
scored with the fast embedding first, and that verdict stands when it is clear by the
margins fitted in `_semantic_fast`; only unclear prompts pay for the full embedding.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError
from dispatcher.routing._semantic_fast import (
    MIN_FIT_EXAMPLES,
    FastPath,
    clearance,
    fit_fast_path,
    leave_one_out,
    top_k_mean,
)
from dispatcher.routing.base import RouteContext, RouteDecision

__all__ = ["SemanticRouter"]


class SemanticRouter:
    """Nearest-route routing over embedded example utterances, with per-route thresholds.

    `fast_embedder` turns on the cascade described in the module docstring; `fast_agreement`
    is how often the fast path must agree with the full embedding on the fitting examples
    (higher: fewer fast decisions, closer agreement).
    """

    def __init__(
        self,
        routes: Mapping[str, Sequence[str]],
        embedder: Embedder,
        *,
        thresholds: Mapping[str, float] | None = None,
        default_threshold: float = 0.5,
        top_k: int = 3,
        name: str = "semantic",
        fast_embedder: Embedder | None = None,
        fast_agreement: float = 0.95,
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
        if not 0.5 <= fast_agreement < 1.0:
            raise ConfigError(
                f"fast_agreement must be in [0.5, 1), got {fast_agreement}",
                field="fast_agreement",
                fix="use 0.95 (the default); higher sends more prompts to the full embedding",
            )
        self.name = name
        self.routes = {r: tuple(examples) for r, examples in routes.items()}
        self.embedder = embedder
        self.fast_embedder = fast_embedder
        self.fast_agreement = fast_agreement
        self.thresholds = {r: float((thresholds or {}).get(r, default_threshold)) for r in routes}
        self.top_k = max(1, top_k)
        self._lock = threading.RLock()
        self._matrices: dict[str, NDArray[np.float32]] | None = None
        self._fast_matrices: dict[str, NDArray[np.float32]] | None = None
        # The fit depends on the thresholds: it is keyed by them and redone when they change.
        self._fast_fit: tuple[tuple[float, ...], FastPath | None] | None = None
        # (fast, full) similarities of labelled prompts from fit_thresholds, fitted on too.
        self._labelled: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None

    def _route_matrices(self) -> dict[str, NDArray[np.float32]]:
        if self._matrices is None:
            with self._lock:
                if self._matrices is None:
                    self._matrices = {r: self.embedder.embed(ex) for r, ex in self.routes.items()}
        return self._matrices

    def _route_similarities(
        self, vectors: NDArray[np.float32], matrices: Mapping[str, NDArray[np.float32]]
    ) -> dict[str, NDArray[np.float64]]:
        return {r: top_k_mean(vectors @ m.T, self.top_k) for r, m in matrices.items()}

    def similarities(self, prompts: Sequence[str]) -> dict[str, NDArray[np.float64]]:
        """For each route, each prompt's mean cosine to its top_k closest examples."""
        return self._route_similarities(self.embedder.embed(prompts), self._route_matrices())

    def fast_path(self) -> FastPath | None:
        """The fitted fast path (None without a fast embedder or with too few examples)."""
        if self.fast_embedder is None:
            return None
        key = tuple(self.thresholds[r] for r in self.routes)
        fitted = self._fast_fit
        if fitted is None or fitted[0] != key:
            with self._lock:
                fitted = self._fast_fit
                if fitted is None or fitted[0] != key:
                    fitted = (key, self._fit_fast(self.fast_embedder, np.asarray(key)))
                    self._fast_fit = fitted
        return fitted[1]

    def _fit_fast(
        self, fast_embedder: Embedder, thresholds: NDArray[np.float64]
    ) -> FastPath | None:
        full_matrices = self._route_matrices()
        if self._fast_matrices is None:
            self._fast_matrices = {r: fast_embedder.embed(ex) for r, ex in self.routes.items()}
        fast = leave_one_out(list(self._fast_matrices.values()), self.top_k)
        full = leave_one_out(list(full_matrices.values()), self.top_k)
        if self._labelled is not None:
            fast = np.concatenate([fast, self._labelled[0]])
            full = np.concatenate([full, self._labelled[1]])
        return fit_fast_path(fast, full, thresholds, self.fast_agreement)

    def __call__(self, context: RouteContext) -> RouteDecision:
        allowed = [r for r in self.routes if not context.candidates or r in context.candidates]
        if not allowed:
            return RouteDecision(self.name, None, None, None, "no route is among the candidates")
        prefix = ""
        if self.fast_embedder is not None:
            fast = self.fast_path()
            if fast is None:
                prefix = (
                    f"full path (fast path off: fewer than {MIN_FIT_EXAMPLES} example "
                    "utterances to fit it): "
                )
            else:
                decision, unclear = self._fast_decision(context.prompt, allowed, fast)
                if decision is not None:
                    return decision
                prefix = f"full path ({unclear}): "
        sims = self.similarities([context.prompt])
        return self._decide({r: float(sims[r][0]) for r in allowed}, prefix)

    def _fast_decision(
        self, prompt: str, allowed: list[str], fast: FastPath
    ) -> tuple[RouteDecision | None, str]:
        """The fast path's decision if it is clear, else None and why it was not."""
        assert self.fast_embedder is not None and self._fast_matrices is not None
        vectors = self.fast_embedder.embed([prompt])
        raw = self._route_similarities(vectors, self._fast_matrices)
        sims = fast.predict({r: float(raw[r][0]) for r in allowed})
        values = np.asarray([[sims[r] for r in allowed]])
        clear = float(clearance(values, np.asarray([self.thresholds[r] for r in allowed]))[0])
        if clear >= fast.margin:
            label = f"fast path ({self.fast_embedder.name}, clear by {clear:.3f}): "
            return self._decide(sims, label), ""
        return None, f"fast path unclear: {clear:.3f} < margin {fast.margin:.3f}"

    def _decide(self, sims: Mapping[str, float], prefix: str) -> RouteDecision:
        best = max(sims, key=sims.__getitem__)
        score, threshold = sims[best], self.thresholds[best]
        if score >= threshold:
            reason = f"closest to {best!r} examples: similarity {score:.3f} >= {threshold:.3f}"
            return RouteDecision(self.name, best, score, threshold, prefix + reason)
        reason = f"unsure: best match {best!r} at {score:.3f} < threshold {threshold:.3f}"
        return RouteDecision(self.name, None, score, threshold, prefix + reason)

    def fit_thresholds(self, examples: Sequence[tuple[str, str | None]]) -> dict[str, float]:
        """Fit each route's threshold from (prompt, correct route or None) pairs.

        For the prompts whose best match is route r, accepting means routing to r. The
        threshold maximises correct accepts plus correct refusals among them; it sits halfway
        between the neighbouring similarities so it generalises a little past the examples.
        Routes that are never a best match keep their threshold. Returns the new thresholds.
        With a fast embedder, the prompts also join the fast path's fit.
        """
        if not examples:
            raise ConfigError("fit_thresholds needs labelled examples", fix="pass (prompt, route)")
        unknown = {label for _, label in examples if label is not None} - set(self.routes)
        if unknown:
            raise ConfigError(
                f"examples name unknown routes: {', '.join(sorted(unknown))}",
                fix=f"label examples with one of: {', '.join(self.routes)}, or None",
            )
        prompts = [prompt for prompt, _ in examples]
        sims = self.similarities(prompts)
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
        if self.fast_embedder is not None:
            self.fast_path()  # fast route matrices exist from here on
            assert self._fast_matrices is not None
            raw = self._route_similarities(self.fast_embedder.embed(prompts), self._fast_matrices)
            with self._lock:
                self._labelled = (np.stack([raw[r] for r in names], axis=1), table)
                self._fast_fit = None  # refit with these rows and the new thresholds
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
