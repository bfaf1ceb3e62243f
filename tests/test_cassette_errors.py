"""Cassette turns of the wrong shape are DataErrors naming the entry, never a traceback."""

from __future__ import annotations

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
