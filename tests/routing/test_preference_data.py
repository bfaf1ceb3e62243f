"""Loading preference JSONL and importing RouteLLM CSVs: good data loads, bad data says where."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from routing_data import write_jsonl

from dispatcher.errors import DataError
from dispatcher.preferences import import_routellm, load_preferences, write_preferences

GOOD = {"id": "a", "prompt": "2+2?", "scores": {"big": 1, "small": 0}}


def test_loads_records_with_optional_fields(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [
            GOOD,
            {
                **GOOD,
                "id": "b",
                "costs": {"big": 0.01},
                "group": "math",
                "scores": {"big": 0.5, "small": True},
            },
        ],
    )
    data = load_preferences(path)
    assert data.models == ("big", "small")
    assert data.records[1].scores == {"big": 0.5, "small": 1.0}
    assert data.records[1].costs == {"big": 0.01}
    assert data.records[1].group == "math" and data.has_groups


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_preferences(path)
    assert f"{path}:3:" in str(caught.value) and caught.value.line == 3


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "x", "prompt": "p"}, "missing field 'scores'"),
        ({"id": "x", "prompt": 3, "scores": {"a": 1, "b": 0}}, "'prompt' must be a string"),
        ({"id": "x", "prompt": "p", "scores": {"a": "yes", "b": 0}}, "must be a finite number"),
        ({"id": "x", "prompt": "p", "scores": {}}, "'scores' is empty"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_invalid_fields_are_reported_with_line(tmp_path: Path, row: object, message: str) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        load_preferences(path)
    assert caught.value.line == 2


def test_duplicate_id_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, GOOD])
    with pytest.raises(DataError, match="duplicate id 'a' \\(first on line 1\\)"):
        load_preferences(path)


def test_fewer_than_two_models_is_an_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "prompt": "p", "scores": {"only": 1}}])
    with pytest.raises(DataError, match="at least two models, found 1 \\(only\\)"):
        load_preferences(path)


def test_model_missing_from_a_line_is_reported(tmp_path: Path) -> None:
    rows = [GOOD, {"id": "b", "prompt": "p", "scores": {"big": 1, "other": 0}}]
    data = load_preferences(write_jsonl(tmp_path / "d.jsonl", rows))
    with pytest.raises(DataError, match="record 'b' has no score for 'small'") as caught:
        data.check_models("big", "small")
    assert caught.value.line == 2
    with pytest.raises(DataError, match="model 'gpt' has no scores in this dataset"):
        data.check_models("gpt", "small")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_preferences(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_preferences(tmp_path / "empty.jsonl")


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_routellm_import_groups_by_domain_and_drops_contaminated(tmp_path: Path) -> None:
    folder = tmp_path / "mmlu"
    folder.mkdir()
    header = ["prompt", "weak/model", "strong-model"]
    _write_csv(
        folder / "mmlu_algebra.csv",
        [header, ["What is\n2+2?\nA. 4", "True", "True"], ["x?", "False", "True"]],
    )
    _write_csv(folder / "mmlu_law.csv", [header, ["Is it legal?", "False", "False"]])
    (folder / "contaminated_prompts.jsonl").write_text(
        json.dumps({"eval_prompt": "x?", "train_prompt": "x"}) + "\n", encoding="utf-8"
    )
    result = import_routellm(tmp_path)  # the data root works as well as the folder itself
    assert result.files == 2 and result.dropped_contaminated == 1
    assert [(r.id, r.group) for r in result.records] == [("algebra-0", "algebra"), ("law-0", "law")]
    assert result.records[0].prompt == "What is\n2+2?\nA. 4"
    assert result.records[0].scores == {"weak/model": 1.0, "strong-model": 1.0}
    kept = import_routellm(folder, drop_contaminated=False)
    assert len(kept.records) == 3
    out = tmp_path / "out.jsonl"
    write_preferences(result.records, out)
    assert load_preferences(out).records[1].group == "law"


def test_routellm_bad_cell_names_file_and_line(tmp_path: Path) -> None:
    _write_csv(
        tmp_path / "mmlu_a.csv",
        [["prompt", "m1", "m2"], ["multi\nline", "True", "False"], ["q", "maybe", "True"]],
    )
    with pytest.raises(DataError, match=r"mmlu_a\.csv:4: column 'm1'"):
        import_routellm(tmp_path)
