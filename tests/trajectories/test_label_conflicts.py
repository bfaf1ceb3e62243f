"""A labels file that gives one run two different outcomes is a mistake, not a coin toss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dispatcher.errors import DataError
from dispatcher.trajectories._labels_file import read_labels


def test_the_same_id_labelled_both_ways_is_a_data_error(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    rows = [{"id": "r1", "success": True}, {"id": "r2", "success": True}]
    rows.append({"instance_id": "r1", "resolved": False})
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"labels\.jsonl:3: 'r1' is labelled .*line 1"):
        read_labels(labels)


def test_the_same_id_labelled_twice_alike_is_fine(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    rows = [{"id": "r1", "success": True}, {"id": "r1", "resolved": True}]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_labels(labels) == {"r1": True}


def test_a_report_listing_an_id_as_resolved_and_unresolved_is_a_data_error(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"resolved_ids": ["a", "b"], "unresolved_ids": ["c", "b"]}))
    with pytest.raises(DataError, match=r"report\.json: 'b' is in resolved_ids and in"):
        read_labels(report)


def test_status_lists_naming_an_id_resolved_and_failed_are_a_data_error(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"resolved": ["a", "b"], "applied": ["b"]}))
    # Older harness reports list a resolved instance under "applied" too: that is no conflict.
    assert read_labels(report) == {"a": True, "b": True}


@pytest.mark.parametrize("key", ["unresolved_ids", "completed_ids", "error_ids"])
def test_a_report_whose_id_list_is_not_a_list_is_a_data_error(tmp_path: Path, key: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"resolved_ids": ["a"], key: 5}))
    with pytest.raises(DataError, match=rf"report\.json: {key!r} must be a list of instance ids"):
        read_labels(report)
