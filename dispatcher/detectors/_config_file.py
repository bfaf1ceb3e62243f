"""Read and write the `dispatcher: detectors:` section of a YAML config file.

Writing keeps every other key of the file (the model list, other `dispatcher:` settings) and
its comments and key order (a ruamel.yaml round trip).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import yaml

from dispatcher._strict_yaml import load_user_yaml, yaml_error
from dispatcher._user_files import read_user_text
from dispatcher.detectors._settings import DetectorSettings
from dispatcher.errors import ConfigError

__all__ = ["read_detector_settings", "write_detector_settings"]


def _load(path: Path) -> dict[str, Any]:
    try:
        data = load_user_yaml(read_user_text(path))
    except yaml.YAMLError as exc:
        raise yaml_error(exc, path, what="config file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            "the config file must be a mapping", file=path, fix="start it with `dispatcher:`"
        )
    return data


def read_detector_settings(path: Path | None) -> DetectorSettings:
    """`dispatcher.detectors` of the file, on the `default` profile unless it names one."""
    if path is None:
        return DetectorSettings.from_mapping(None, default_profile="default")
    if not path.is_file():
        raise ConfigError("no such config file", file=path, fix="check the --config path")
    section = _load(path).get("dispatcher") or {}
    if not isinstance(section, dict):
        raise ConfigError("`dispatcher:` must be a mapping", file=path, field="dispatcher")
    return DetectorSettings.from_mapping(
        section.get("detectors"), source=path, default_profile="default"
    )


def write_detector_settings(path: Path, settings: DetectorSettings) -> None:
    """Put `settings` under `dispatcher: detectors:` in `path`, creating the file if needed."""
    from dispatcher._yaml_file import edit_yaml_file, section

    def put(data: MutableMapping[str, Any]) -> None:
        section(data, "dispatcher", file=path)["detectors"] = settings.to_mapping()

    edit_yaml_file(path, put)
