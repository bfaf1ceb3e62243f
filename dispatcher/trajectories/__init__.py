"""Labelled agent runs for evaluating and calibrating detectors: the format and importers."""

from dispatcher.trajectories._load import (
    FORMATS,
    TrajectoryFormat,
    detect_format,
    load_trajectories,
)
from dispatcher.trajectories._model import (
    Trajectory,
    check_both_outcomes,
    run_to_json,
    write_trajectories,
)

__all__ = [
    "FORMATS",
    "Trajectory",
    "TrajectoryFormat",
    "check_both_outcomes",
    "detect_format",
    "load_trajectories",
    "run_to_json",
    "write_trajectories",
]
