"""Detector settings: typos are errors that say how to fix them; agents override per field."""

from __future__ import annotations

import pytest

from dispatcher.detectors import DetectorSettings, build_detectors, merge
from dispatcher.errors import ConfigError


def test_a_typo_names_the_field_and_suggests_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        DetectorSettings.from_mapping({"loop": {"repeat": 3}})
    assert caught.value.field == "loop.repeat"
    assert "did you mean 'repeats'" in str(caught.value)


def test_a_count_below_two_is_rejected() -> None:
    with pytest.raises(ConfigError) as caught:
        DetectorSettings.from_mapping({"stall": {"patience": 1}})
    assert caught.value.field == "stall.patience"


def test_unknown_combined_feature_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown feature"):
        DetectorSettings.from_mapping({"combined": {"weights": {"vibes": 1.0}}})


def test_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        DetectorSettings.from_mapping(["loop"])  # type: ignore[arg-type]


def test_agent_settings_override_the_defaults_field_by_field() -> None:
    base = DetectorSettings.from_mapping({"loop": {"repeats": 5, "failing_repeats": 4}})
    agent = DetectorSettings.from_mapping({"loop": {"repeats": 3}, "stall": {"patience": 9}})
    merged = merge(base, agent)
    assert merged.loop.repeats == 3
    assert merged.loop.failing_repeats == 4
    assert merged.stall.patience == 9


def test_merge_replaces_combined_weights_as_a_whole() -> None:
    agent = {"combined": {"weights": {"steps": 1.0}, "bias": -2.0}}
    merged = merge(DetectorSettings(), agent)
    assert merged.combined.weights == {"steps": 1.0}


def test_switched_off_detectors_are_not_built() -> None:
    assert build_detectors(DetectorSettings.from_mapping({"enabled": False})) == []
    names = [
        d.name for d in build_detectors(DetectorSettings.from_mapping({"loop": {"enabled": False}}))
    ]
    assert names == ["stall", "stall.tests", "combined"]


def test_settings_round_trip_through_plain_data() -> None:
    settings = DetectorSettings.from_mapping({"loop": {"navigation_tools": ["peek"]}})
    assert DetectorSettings.from_mapping(settings.to_mapping()) == settings


@pytest.mark.parametrize(
    ("mapping", "field", "got", "fix"),
    [
        ({"stall": {"patience": 0}}, "stall.patience", "0", "`stall.patience: "),
        ({"loop": {"repeats": 1}}, "loop.repeats", "1", "null switches this pattern off"),
        ({"combined": {"threshold": 1.5}}, "combined.threshold", "1.5", "combined.threshold"),
    ],
)
def test_an_out_of_range_value_is_named_with_what_was_given(
    mapping: dict[str, object], field: str, got: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        DetectorSettings.from_mapping(mapping)
    assert caught.value.field == field
    assert f"got {got}" in str(caught.value)
    assert caught.value.fix is not None and fix in caught.value.fix
    if not field.startswith("loop."):
        assert "loop pattern" not in caught.value.fix


@pytest.mark.parametrize("value", [5, [1, 2], 1.5, True])
def test_not_a_mapping_is_rejected_also_with_a_default_profile(value: object) -> None:
    # The worker and the CLI read settings with `default_profile`: no AttributeError there.
    with pytest.raises(ConfigError, match="detector settings must be a mapping"):
        DetectorSettings.from_mapping(value, default_profile="default")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "combined",
    [
        {"weights": {"steps": float("nan")}},
        {"weights": {"steps": float("inf")}},
        {"bias": float("nan")},
        {"bias": float("-inf")},
    ],
    ids=["nan-weight", "inf-weight", "nan-bias", "inf-bias"],
)
def test_a_combined_score_number_that_is_not_finite_is_rejected(
    combined: dict[str, object],
) -> None:
    # A NaN score compares false with every threshold: the detector would never fire, silently.
    with pytest.raises(ConfigError, match=r"finite number.*") as caught:
        DetectorSettings.from_mapping({"combined": {"enabled": True, **combined}})
    assert "combined." in str(caught.value)


def test_an_enabled_combined_score_without_weights_is_rejected() -> None:
    # No weights leave the bias alone: a constant score that alarms on every run, or on none.
    with pytest.raises(ConfigError, match="at least one") as caught:
        DetectorSettings.from_mapping({"combined": {"enabled": True, "weights": {}, "bias": 2}})
    assert "combined" in str(caught.value)
    off = DetectorSettings.from_mapping({"combined": {"enabled": False, "weights": {}}})
    assert off.combined.weights == {}
