"""Import RouteLLM's per-query outcome CSVs (e.g. ``mmlu/mmlu_<domain>.csv``).

Each CSV has a ``prompt`` column and one column per model holding ``True``/``False`` (or a
number). Every row becomes a preference record with ``group`` = the file's domain; rows
whose prompt is listed in ``contaminated_prompts.jsonl`` are dropped unless asked to keep them.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dispatcher._user_files import as_path
from dispatcher.errors import DataError
from dispatcher.preferences.dataset import PreferenceRecord

__all__ = ["RouteLLMImport", "import_routellm"]

_CONTAMINATED = "contaminated_prompts.jsonl"
_TRUE = {"true", "1", "1.0", "yes"}
_FALSE = {"false", "0", "0.0", "no"}


@dataclass(frozen=True, slots=True)
class RouteLLMImport:
    """The converted records and what was dropped on the way."""

    records: tuple[PreferenceRecord, ...]
    files: int
    dropped_contaminated: int


def _find_csvs(directory: Path) -> list[Path]:
    csvs = sorted(directory.glob("*.csv"))
    if not csvs:
        # Accept the data root (routellm/) as well as the benchmark folder (routellm/mmlu/).
        csvs = sorted(directory.glob("*/*.csv"))
    return csvs


def _domain(path: Path, prefix: str) -> str:
    # RouteLLM names files <benchmark>_<domain>.csv inside a folder named <benchmark>.
    folder_prefix = f"{path.parent.name}_"
    for cut in (folder_prefix, prefix):
        if cut and path.stem.startswith(cut) and len(path.stem) > len(cut):
            return path.stem[len(cut) :]
    return path.stem


def _common_prefix(paths: list[Path]) -> str:
    """The "<bench>_" prefix that every file name shares (whole "_"-separated parts only)."""
    if len(paths) < 2:
        return ""
    parts = [p.stem.split("_") for p in paths]
    shared: list[str] = []
    for pieces in zip(*parts, strict=False):
        if len(set(pieces)) != 1:
            break
        shared.append(pieces[0])
    # Keep at least one part of every name as its domain.
    shared = shared[: min(len(p) for p in parts) - 1]
    return "_".join(shared) + "_" if shared else ""


def _contaminated(csvs: list[Path]) -> set[str]:
    prompts: set[str] = set()
    for folder in sorted({p.parent for p in csvs}):
        file = folder / _CONTAMINATED
        if not file.is_file():
            continue
        with _utf8(file), file.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    prompts.add(str(json.loads(text)["eval_prompt"]))
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise DataError(
                        "expected a JSON object with an 'eval_prompt' string",
                        file=file,
                        line=number,
                    ) from exc
    return prompts


def _value(cell: str, *, file: Path, line: int, column: str) -> float | None:
    text = cell.strip()
    if not text:
        return None
    lowered = text.lower()
    if lowered in _TRUE:
        return 1.0
    if lowered in _FALSE:
        return 0.0
    try:
        return float(text)
    except ValueError as exc:
        raise DataError(
            f"column {column!r}: expected True/False or a number, got {text!r}",
            file=file,
            line=line,
        ) from exc


def _rows(file: Path, domain: str) -> Iterator[PreferenceRecord]:
    with file.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        if "prompt" not in header:
            raise DataError("no 'prompt' column in the header", file=file, line=1)
        prompt_at = header.index("prompt")
        models = [(i, name) for i, name in enumerate(header) if i != prompt_at and name.strip()]
        if not models:
            raise DataError("the CSV has no model columns besides 'prompt'", file=file, line=1)
        index = 0
        start = reader.line_num + 1
        for row in reader:
            if not row:
                start = reader.line_num + 1
                continue
            if len(row) != len(header):
                raise DataError(
                    f"expected {len(header)} columns, found {len(row)}", file=file, line=start
                )
            scores = {}
            for i, name in models:
                value = _value(row[i], file=file, line=start, column=name)
                if value is not None:
                    scores[name] = value
            yield PreferenceRecord(
                id=f"{domain}-{index}",
                prompt=row[prompt_at],
                scores=scores,
                group=domain,
                line=start,
            )
            index += 1
            start = reader.line_num + 1


def import_routellm(directory: str | Path, *, drop_contaminated: bool = True) -> RouteLLMImport:
    """Convert every per-domain CSV under `directory` into preference records."""
    folder = as_path(directory, "directory")
    if not folder.is_dir():
        raise DataError(
            "not a directory; pass RouteLLM's data folder (e.g. routellm/mmlu)", file=folder
        )
    csvs = _find_csvs(folder)
    if not csvs:
        raise DataError("no CSV files found here or one level down", file=folder)
    prefix = _common_prefix(csvs)
    contaminated = _contaminated(csvs) if drop_contaminated else set()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    records: list[PreferenceRecord] = []
    dropped = 0
    for file in csvs:
        with _utf8(file):
            for record in _rows(file, _domain(file, prefix)):
                if record.prompt in contaminated:
                    dropped += 1
                    continue
                records.append(record)
    if not records:
        raise DataError(
            f"no records in {len(csvs)} CSV file(s)"
            + (f" ({dropped} dropped as contaminated)" if dropped else ""),
            file=folder,
            fix="pass RouteLLM's data folder, whose CSVs have a prompt column and a row per query",
        )
    return RouteLLMImport(tuple(records), len(csvs), dropped)


@contextmanager
def _utf8(file: Path) -> Iterator[None]:
    """Reading `file` as UTF-8: a decode error names it."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text (byte {exc.start} of a line cannot be decoded)", file=file
        ) from None
