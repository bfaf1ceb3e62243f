"""Detector settings: the `detectors:` block of the config file and of each agent.

Unknown keys are errors (a typo such as ``repeat: 3`` must not silently keep the default), and
every error names the field and how to fix it. `merge` puts an agent's own settings on top of
the registry's defaults, field by field.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dispatcher._checked_model import CheckedModel
from dispatcher.detectors._features import (
    DEFAULT_BIAS,
    DEFAULT_THRESHOLD,
    DEFAULT_WEIGHTS,
    FEATURE_NAMES,
)
from dispatcher.errors import ConfigError

__all__ = [
    "CombinedSettings",
    "DetectorSettings",
    "LoopSettings",
    "StallSettings",
    "merge",
]


class _Settings(CheckedModel):
    # NaN or infinity in a weight, the bias or a threshold makes every score NaN or saturated:
    # the detector would silently never (or always) fire.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class LoopSettings(_Settings):
    """Repetition patterns; a count of ``null`` switches that pattern off."""

    enabled: bool = True
    repeats: int | None = Field(
        default=4, ge=2, description="the same action returning the same result, N times in a row"
    )
    failing_repeats: int | None = Field(
        default=3,
        ge=2,
        description="the same action failing the same way N times, workspace unchanged",
    )
    alternation_cycles: int | None = Field(
        default=3, ge=2, description="A-B-A-B (or A-B-C-A-B-C) cycles of identical steps"
    )
    monologue_repeats: int | None = Field(
        default=3, ge=2, description="the same assistant message N times"
    )
    navigation_streak: int | None = Field(
        default=15, ge=2, description="N navigation steps (grep/find/ls/cat/view/get...) in a row"
    )
    navigation_tools: list[str] = Field(
        default_factory=list, description="extra tool names or programs that only look around"
    )


class StallSettings(_Settings):
    """No progress: K steps in a row that brought no new information."""

    enabled: bool = True
    patience: int = Field(
        default=6, ge=2, description="steps without new information before firing"
    )
    min_new_tokens: int = Field(
        default=3, ge=1, description="an observation with fewer unseen words brings nothing new"
    )
    test_runs: int | None = Field(
        default=3,
        ge=2,
        description="test runs in a row without fewer failing tests than the best so far",
    )


class CombinedSettings(_Settings):
    """A logistic score over run features; `dispatcher detectors calibrate` fits it."""

    enabled: bool = True
    threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0.0, lt=1.0)
    bias: float = DEFAULT_BIAS
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    window: int = Field(default=10, ge=1, description="recent steps averaged for novelty")
    min_steps: int = Field(default=3, ge=1, description="never fire before this many steps")

    @field_validator("weights")
    @classmethod
    def _known_features(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown feature(s) {', '.join(unknown)}; known: {', '.join(FEATURE_NAMES)}"
            )
        return value

    @model_validator(mode="after")
    def _some_weight_when_enabled(self) -> CombinedSettings:
        # The bias alone is a constant score: an alarm on every run at min_steps, or on none.
        if self.enabled and not self.weights:
            raise ValueError(
                "an enabled combined score needs at least one feature weight "
                f"(known: {', '.join(FEATURE_NAMES)}); or set enabled: false"
            )
        return self


class DetectorSettings(_Settings):
    """Everything the loop, stall, finish-review and combined detectors of one agent need.

    `profile` names a shipped profile (`coding`, `sql`, `tool_use`, `default`; see
    `dispatcher.detectors.PROFILES`): its settings are the base, keys given beside it win.
    """

    profile: str | None = Field(
        default=None, description="a shipped detector profile: coding, sql, tool_use, default"
    )
    enabled: bool = True
    finish_review: bool = Field(
        default=False,
        description="escalate for review when the run finishes without a passing test "
        "run after its last edit",
    )
    loop: LoopSettings = Field(default_factory=lambda: LoopSettings())
    stall: StallSettings = Field(default_factory=lambda: StallSettings())
    combined: CombinedSettings = Field(default_factory=lambda: CombinedSettings())

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Any] | str | None,
        *,
        source: str | Path | None = None,
        default_profile: str | None = None,
    ) -> DetectorSettings:
        """Validate a `detectors:` mapping; mistakes raise ConfigError naming field and fix.

        `default_profile` is the base when the mapping names no profile (the worker and the
        CLI use ``default``: the profile that is safe for agents of any kind).
        """
        if isinstance(mapping, str):  # `detectors: coding` names a profile
            mapping = {"profile": mapping}
        if mapping is not None and not isinstance(mapping, Mapping):
            raise ConfigError(
                f"detector settings must be a mapping, got {type(mapping).__name__}",
                file=source,
                field="detectors",
                fix="write e.g. `detectors: {loop: {repeats: 4}, stall: {patience: 6}}`",
            )
        if default_profile is not None and (mapping is None or mapping.get("profile") is None):
            mapping = {**(mapping or {}), "profile": default_profile}
        if mapping is None:
            return cls()
        data = dict(mapping)
        if data.get("profile") is not None:
            data = _deep_merge(_profile_mapping(data["profile"], source), data)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _config_error(exc, source) from None

    def to_mapping(self) -> dict[str, Any]:
        """Plain data for a YAML file (the same structure `from_mapping` reads)."""
        return self.model_dump(mode="json")


def merge(
    base: DetectorSettings, override: DetectorSettings | Mapping[str, Any] | None
) -> DetectorSettings:
    """`base` with every field that `override` sets explicitly replaced (nested, per field).

    `weights` is replaced as a whole: a combined model is only meaningful with its own bias.
    An override that names a `profile` starts from that profile instead of `base` (an agent
    that says `profile: coding` gets the coding detectors whatever the registry's defaults).
    """
    if override is None:
        return base
    if isinstance(override, DetectorSettings):
        patch = override.model_dump(exclude_unset=True)
    elif isinstance(override, str):
        patch = {"profile": override}
    else:
        patch = dict(override)
    if patch.get("profile") is not None:
        return DetectorSettings.from_mapping(patch)
    return DetectorSettings.from_mapping(_deep_merge(base.model_dump(), patch))


def _profile_mapping(name: Any, source: str | Path | None) -> dict[str, Any]:
    from dispatcher.detectors._profiles import PROFILES

    if not isinstance(name, str) or name not in PROFILES:
        close = difflib.get_close_matches(str(name), list(PROFILES), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown detector profile {name!r}",
            file=source,
            field="detectors.profile",
            fix=f"{hint}use one of: {', '.join(PROFILES)}",
        )
    return PROFILES[name]


def _deep_merge(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict) and key != "weights":
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _config_error(exc: ValidationError, source: str | Path | None) -> ConfigError:
    first = exc.errors()[0]
    location = [str(part) for part in first["loc"]]
    dotted = ".".join(location)
    model: type[BaseModel] = DetectorSettings
    for part in location[:-1]:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    if first["type"] == "extra_forbidden":
        known = list(model.model_fields)
        close = difflib.get_close_matches(location[-1], known, n=1)
        fix = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return ConfigError("unknown key", file=source, field=dotted, fix=fix)
    message = first["msg"]
    if first["type"].startswith(("greater_than", "less_than")):
        message = f"{message} (got {first.get('input')!r})"
        fix = _range_fix(model, location[-1], dotted)
    elif first["type"] == "finite_number":
        message = f"{message} (got {first.get('input')!r})"
        fix = f"give {dotted} a finite number (not .nan or .inf)"
    elif first["type"].endswith("_type") or first["type"].endswith("_parsing"):
        fix = f"give {dotted} a value of the right type, e.g. `{location[-1]}: 4`"
    else:
        fix = "see `dispatcher detectors eval --help` and docs for the detector settings"
    return ConfigError(message, file=source, field=dotted, fix=fix)


def _range_fix(model: type[BaseModel], name: str, dotted: str) -> str:
    """How to fix an out-of-range setting: its default as an example, and null if it may be."""
    field = model.model_fields.get(name)
    if field is None:
        return "use a value in the allowed range"
    example = field.default if field.default is not None else 2
    off = " (null switches this pattern off)" if type(None) in get_args(field.annotation) else ""
    return f"use a value in the allowed range, e.g. `{dotted}: {example}`{off}"
