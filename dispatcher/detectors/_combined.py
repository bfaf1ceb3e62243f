"""The combined detector: a logistic score of "this run is failing" over run features.

The weights, bias and threshold come from `dispatcher detectors calibrate` (fitted on labelled
runs with grouped cross-validation). Its state is the current probability, not a peak: the
features are already cumulative. It fires when the probability first reaches the threshold
(after `min_steps`), and again only after it has dropped below and risen back. It stays
quiet on a step where a loop or stall detector fired: that verdict says more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from dispatcher.detectors._counting import CountingDetector
from dispatcher.detectors._digest import RunDigest
from dispatcher.detectors._features import LOOP_SCALES, STALL_SCALE, RunFeatures
from dispatcher.detectors._loop import (
    AlternationDetector,
    FailingRepeatDetector,
    MonologueDetector,
    NavigationDetector,
    RepeatDetector,
)
from dispatcher.detectors._settings import CombinedSettings, StallSettings
from dispatcher.detectors._stall import StallDetector
from dispatcher.detectors.base import Step, Verdict

__all__ = ["CombinedDetector"]


class CombinedDetector:
    """Fires when P(run fails | features so far) reaches the calibrated threshold."""

    name = "combined"

    def __init__(
        self,
        settings: CombinedSettings | None = None,
        digest: RunDigest | None = None,
        *,
        stall: StallSettings | None = None,
        counters: Mapping[str, CountingDetector] | None = None,
    ) -> None:
        self.settings = settings if settings is not None else CombinedSettings()
        self._digest = digest if digest is not None else RunDigest()
        stall_settings = stall if stall is not None else StallSettings()
        # Peak counts do not depend on a detector's threshold, so the rule detectors of the
        # same run are shared when given; missing ones (switched off) are built here.
        shared = dict(counters or {})
        kinds: dict[str, type[CountingDetector]] = {
            "loop.repeat": RepeatDetector,
            "loop.failing": FailingRepeatDetector,
            "loop.alternation": AlternationDetector,
            "loop.monologue": MonologueDetector,
            "loop.navigation": NavigationDetector,
        }
        self._loops: dict[str, CountingDetector] = {
            name: shared.get(name) or kind(LOOP_SCALES[name], self._digest)
            for name, kind in kinds.items()
        }
        self._stall = shared.get("stall") or StallDetector(
            STALL_SCALE, self._digest, min_new_tokens=stall_settings.min_new_tokens
        )
        # The settings' own dict (shared by the runs of one configuration), not a copy.
        self._weights = self.settings.weights
        self._start()

    def _start(self) -> None:
        self._features = RunFeatures(self.settings.window)
        self._seen = 0
        self._armed = True
        self._last: Verdict | None = None
        self._probability = self._logistic(self._vector())

    def _logistic(self, values: dict[str, float]) -> float:
        z = self.settings.bias + sum(w * values[name] for name, w in self._weights.items())
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def __call__(self, steps: Sequence[Step]) -> Verdict | None:
        self._advance(steps)
        return self._last

    def score(self, steps: Sequence[Step]) -> float:
        """P(the run fails) after these steps, by the calibrated logistic model."""
        self._advance(steps)
        return self._probability

    def features(self, steps: Sequence[Step]) -> dict[str, float]:
        """The feature values after these steps (what calibration fits on)."""
        self._advance(steps)
        return self._vector()

    def _vector(self) -> dict[str, float]:
        loop = max(d.peak / LOOP_SCALES[name] for name, d in self._loops.items())
        failing = self._loops["loop.failing"].peak
        return self._features.vector(loop, self._stall.peak, failing)

    def _advance(self, steps: Sequence[Step]) -> None:
        if len(steps) < self._seen:
            self._start()
        if len(steps) == self._seen:
            return
        digests = self._digest.update(steps)
        rule_fired = False
        for counter in (*self._loops.values(), self._stall):
            rule_fired = counter(steps) is not None or rule_fired
        for index in range(self._seen, len(steps)):
            self._features.add(digests[index])
        self._seen = len(steps)
        values = self._vector()
        self._probability = self._logistic(values)
        self._last = None
        threshold = self.settings.threshold
        if self._probability < threshold:
            self._armed = True
        elif self._armed and len(steps) >= self.settings.min_steps and not rule_fired:
            # A rule detector already reported this step, with sharper evidence: stay armed.
            self._armed = False
            contributions = sorted(
                ((name, w * values[name]) for name, w in self._weights.items()),
                key=lambda item: -item[1],
            )
            self._last = Verdict(
                detector=self.name,
                verdict="likely failing",
                step=steps[-1].index,
                score=self._probability,
                evidence={
                    "probability": round(self._probability, 4),
                    "threshold": threshold,
                    "top_features": {
                        name: round(values[name], 4) for name, c in contributions[:4] if c > 0
                    },
                },
            )
