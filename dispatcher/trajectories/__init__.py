"""Labelled agent runs for evaluating and calibrating detectors: the format and importers."""

from dispatcher.trajectories._labels_file import apply_labels, read_labels
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
    "apply_labels",
    "check_both_outcomes",
    "detect_format",
    "load_trajectories",
    "read_labels",
    "run_to_json",
    "write_trajectories",
]
