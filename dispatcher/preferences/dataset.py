"""Preference datasets: per-query quality of several models, one JSON object a line.

    {"id": "q1", "prompt": "...", "scores": {"gpt-4": 1, "mixtral": 0},
     "costs": {"gpt-4": 0.01}, "group": "algebra"}

`costs` and `group` are optional; `group` keeps related queries in the same split.
Loading checks every line and names the file and line of the first problem.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dispatcher._model_json import loads_json
from dispatcher._user_files import as_path, check_regular_file
from dispatcher.errors import DataError

__all__ = ["PreferenceDataset", "PreferenceRecord", "load_preferences", "write_preferences"]

_FORMAT_HINT = (
    'each line must be a JSON object like {"id": "q1", "prompt": "...", '
    '"scores": {"strong-model": 1, "weak-model": 0}}'
)


@dataclass(frozen=True, slots=True)
class PreferenceRecord:
    """One query and how well each model did on it (`line` is 1-based, 0 if built in code)."""

    id: str
    prompt: str
    scores: Mapping[str, float]
    costs: Mapping[str, float] = field(default_factory=dict)
    group: str | None = None
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "prompt": self.prompt, "scores": dict(self.scores)}
        if self.costs:
            data["costs"] = dict(self.costs)
        if self.group is not None:
            data["group"] = self.group
        return data


@dataclass(frozen=True, slots=True)
class PreferenceDataset:
    """Records in file order, plus where they came from (for error messages)."""

    records: tuple[PreferenceRecord, ...]
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.records)

    @property
    def models(self) -> tuple[str, ...]:
        """Every model that has a score on at least one line, sorted."""
        return tuple(sorted({m for r in self.records for m in r.scores}))

    @property
    def has_groups(self) -> bool:
        return any(r.group is not None for r in self.records)

    def check_models(self, *models: str) -> None:
        """Raise DataError unless every record scores every one of `models`."""
        known = self.models
        for model in models:
            if model not in known:
                raise DataError(
                    f"model {model!r} has no scores in this dataset; "
                    f"models present: {', '.join(known)}",
                    file=self.source,
                )
        for record in self.records:
            absent = [m for m in models if m not in record.scores]
            if absent:
                raise DataError(
                    f"record {record.id!r} has no score for {', '.join(map(repr, absent))}; "
                    "every record needs a score for the strong and the weak model",
                    file=self.source,
                    line=record.line or None,
                )

    def subset(self, indices: Iterable[int]) -> PreferenceDataset:
        return PreferenceDataset(tuple(self.records[i] for i in indices), self.source)

    def ungrouped(self) -> PreferenceDataset:
        """The same records with `group` removed (so splits go by id)."""
        return PreferenceDataset(tuple(replace(r, group=None) for r in self.records), self.source)

    def without_groups(self, groups: Sequence[str]) -> PreferenceDataset:
        drop = set(groups)
        kept = tuple(r for r in self.records if r.group not in drop)
        return PreferenceDataset(kept, self.source)


def _number(value: Any, *, what: str, path: Path, line: int) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    raise DataError(f"{what} must be a finite number, got {value!r}", file=path, line=line)


def _number_map(value: Any, *, what: str, path: Path, line: int) -> dict[str, float]:
    if not isinstance(value, dict):
        raise DataError(f"{what!r} must be an object of model -> number", file=path, line=line)
    return {
        str(model): _number(v, what=f"{what}[{model!r}]", path=path, line=line)
        for model, v in value.items()
    }


def _parse_line(text: str, path: Path, line: int) -> PreferenceRecord:
    try:
        data = loads_json(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON ({exc.msg}); {_FORMAT_HINT}", file=path, line=line) from exc
    if not isinstance(data, dict):
        raise DataError(f"expected a JSON object; {_FORMAT_HINT}", file=path, line=line)
    for key in ("id", "prompt", "scores"):
        if key not in data:
            raise DataError(f"missing field {key!r}; {_FORMAT_HINT}", file=path, line=line)
    if not isinstance(data["id"], str | int) or isinstance(data["id"], bool):
        raise DataError("'id' must be a string", file=path, line=line)
    if not isinstance(data["prompt"], str):
        raise DataError("'prompt' must be a string", file=path, line=line)
    scores = _number_map(data["scores"], what="scores", path=path, line=line)
    if not scores:
        raise DataError(
            "'scores' is empty: give at least one model's quality", file=path, line=line
        )
    costs = _number_map(data.get("costs", {}), what="costs", path=path, line=line)
    group = data.get("group")
    if group is not None and not isinstance(group, str | int):
        raise DataError("'group' must be a string", file=path, line=line)
    return PreferenceRecord(
        id=str(data["id"]),
        prompt=data["prompt"],
        scores=scores,
        costs=costs,
        group=None if group is None else str(group),
        line=line,
    )


def load_preferences(path: str | Path) -> PreferenceDataset:
    """Read and check a preference JSONL file (blank lines are skipped)."""
    file = as_path(path)
    check_regular_file(file, data=True)
    try:
        handle = file.open(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(
            "file not found; pass the path of a preference JSONL file", file=file
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror}", file=file) from exc
    records: list[PreferenceRecord] = []
    seen: dict[str, int] = {}
    with handle:
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                record = _parse_line(text, file, number)
                if record.id in seen:
                    raise DataError(
                        f"duplicate id {record.id!r} (first on line {seen[record.id]}); ids must "
                        "be unique",
                        file=file,
                        line=number,
                    )
                seen[record.id] = number
                records.append(record)
        except UnicodeDecodeError as exc:
            raise DataError("the file is not UTF-8 text", file=file) from exc
    dataset = PreferenceDataset(tuple(records), str(file))
    if not records:
        raise DataError("the dataset is empty; " + _FORMAT_HINT, file=file)
    if len(dataset.models) < 2:
        raise DataError(
            f"a preference dataset needs scores for at least two models, found "
            f"{len(dataset.models)} ({', '.join(dataset.models)})",
            file=file,
        )
    return dataset


def write_preferences(records: Iterable[PreferenceRecord], path: str | Path) -> int:
    """Write records as JSONL (UTF-8, one per line); returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            count += 1
    return count
