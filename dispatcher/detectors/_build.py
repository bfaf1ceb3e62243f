"""Fresh detector instances for one run, sharing one per-run digest."""

from __future__ import annotations

from dispatcher.detectors._combined import CombinedDetector
from dispatcher.detectors._counting import CountingDetector
from dispatcher.detectors._digest import RunDigest
from dispatcher.detectors._finish import FinishReviewDetector
from dispatcher.detectors._loop import (
    AlternationDetector,
    FailingRepeatDetector,
    MonologueDetector,
    NavigationDetector,
    RepeatDetector,
)
from dispatcher.detectors._settings import DetectorSettings
from dispatcher.detectors._stall import StallDetector, TestProgressDetector
from dispatcher.detectors.base import Detector

__all__ = ["DETECTOR_NAMES", "build_detectors"]

DETECTOR_NAMES = (
    "loop.repeat",
    "loop.failing",
    "loop.alternation",
    "loop.monologue",
    "loop.navigation",
    "stall",
    "stall.tests",
    "review.finish",
    "combined",
)


def build_detectors(
    settings: DetectorSettings | None = None, *, include_disabled: bool = False
) -> list[Detector]:
    """New detectors for one run (they keep per-run state: never share them across runs).

    `include_disabled` also builds detectors switched off in `settings` (evaluation reports
    them too); a count of ``null`` then falls back to the built-in default.
    """
    settings = settings if settings is not None else DetectorSettings()
    if not settings.enabled and not include_disabled:
        return []
    loop = settings.loop
    defaults = type(loop)()
    digest = RunDigest(loop.navigation_tools)
    detectors: list[Detector] = []
    rules: list[tuple[type[CountingDetector], int | None, int | None]] = [
        (RepeatDetector, loop.repeats, defaults.repeats),
        (FailingRepeatDetector, loop.failing_repeats, defaults.failing_repeats),
        (AlternationDetector, loop.alternation_cycles, defaults.alternation_cycles),
        (MonologueDetector, loop.monologue_repeats, defaults.monologue_repeats),
        (NavigationDetector, loop.navigation_streak, defaults.navigation_streak),
    ]
    for cls, count, fallback in rules:
        on = loop.enabled and count is not None
        if on or include_disabled:
            threshold = count if count is not None else fallback
            assert threshold is not None
            detectors.append(cls(threshold, digest))
    stall = settings.stall
    if stall.enabled or include_disabled:
        detectors.append(StallDetector(stall.patience, digest, min_new_tokens=stall.min_new_tokens))
    if (stall.enabled and stall.test_runs is not None) or include_disabled:
        detectors.append(TestProgressDetector(stall.test_runs or 3, digest))
    if settings.finish_review or include_disabled:
        detectors.append(FinishReviewDetector(digest))
    if settings.combined.enabled or include_disabled:
        counters = {d.name: d for d in detectors if isinstance(d, CountingDetector)}
        detectors.append(
            CombinedDetector(settings.combined, digest, stall=settings.stall, counters=counters)
        )
    return detectors
