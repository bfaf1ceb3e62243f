"""Cassette turns of the wrong shape are DataErrors naming the entry, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dispatcher.cassette import parse_cassette
from dispatcher.errors import DataError


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        ({"tool_calls": 5}, "tool_calls"),
        ({"tool_calls": "sql_run"}, "tool_calls"),
        ({"text": "hi", "agent": [1]}, "agent"),
        ({"text": "hi", "finish_reason": "exploded"}, "finish_reason"),
        ({"text": "hi", "usage": {"input_tokens": -5}}, "usage"),
        ({"text": ["hi"]}, "text"),
    ],
    ids=repr,
)
def test_a_turn_of_the_wrong_shape(turn: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=rf"models\.small\[0\].*{message}"):
        parse_cassette({"models": {"small": [turn]}})


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("c.yaml", "models:\n  small: [unclosed\n", "line"),
        ("c.yaml", "models:\n  small: []\nmodels:\n  small: []\n", "'models' is given twice"),
        ("c.json", '{"models": {"small": [{"text": 1' + "0" * 5000 + "}]}}", "number"),
    ],
    ids=["yaml_syntax", "key_twice", "json_huge_int"],
)
def test_a_cassette_that_does_not_parse_is_a_data_error_with_a_fix(
    tmp_path: Path, name: str, text: str, fragment: str
) -> None:
    # YAML errors quoted PyYAML's '<unicode string>' marks with no fix, a key given twice
    # kept the last, and a JSON integer over 4300 digits was a bare ValueError.
    from dispatcher.cassette import load_cassette

    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=fragment) as caught:
        load_cassette(path)
    assert "<unicode string>" not in str(caught.value) and caught.value.fix
