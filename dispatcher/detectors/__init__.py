"""Loop and stall detectors that watch every step of a worker, and their settings.

`build_detectors(settings)` returns fresh per-run instances; each is called after every step
with the steps so far and returns a `Verdict` with its evidence, or None. Each also has
`score(steps)`, its continuous state, which `dispatcher detectors eval` and `calibrate` use.
"""

from dispatcher.detectors._actions import format_action
from dispatcher.detectors._build import DETECTOR_NAMES, build_detectors
from dispatcher.detectors._combined import CombinedDetector
from dispatcher.detectors._features import FEATURE_NAMES
from dispatcher.detectors._finish import FinishReviewDetector
from dispatcher.detectors._loop import (
    AlternationDetector,
    FailingRepeatDetector,
    MonologueDetector,
    NavigationDetector,
    RepeatDetector,
)
from dispatcher.detectors._profiles import PROFILE_NAMES, PROFILES
from dispatcher.detectors._settings import (
    CombinedSettings,
    DetectorSettings,
    LoopSettings,
    StallSettings,
    merge,
)
from dispatcher.detectors._stall import StallDetector, TestProgressDetector
from dispatcher.detectors.base import Detector, Step, Verdict

__all__ = [
    "DETECTOR_NAMES",
    "FEATURE_NAMES",
    "PROFILES",
    "PROFILE_NAMES",
    "AlternationDetector",
    "CombinedDetector",
    "CombinedSettings",
    "Detector",
    "DetectorSettings",
    "FailingRepeatDetector",
    "FinishReviewDetector",
    "LoopSettings",
    "MonologueDetector",
    "NavigationDetector",
    "RepeatDetector",
    "StallDetector",
    "StallSettings",
    "Step",
    "TestProgressDetector",
    "Verdict",
    "build_detectors",
    "format_action",
    "merge",
]
