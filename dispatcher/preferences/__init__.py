"""Preference datasets (per-query model quality) and importers for published ones."""

from dispatcher.preferences.dataset import (
    PreferenceDataset,
    PreferenceRecord,
    load_preferences,
    write_preferences,
)
from dispatcher.preferences.routellm import RouteLLMImport, import_routellm

__all__ = [
    "PreferenceDataset",
    "PreferenceRecord",
    "RouteLLMImport",
    "import_routellm",
    "load_preferences",
    "write_preferences",
]
