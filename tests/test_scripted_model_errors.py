"""The scripted model's turns are checked when it is built: a wrong one is a ConfigError."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher.errors import ConfigError
from dispatcher.testing import ScriptedModel, reply


@pytest.mark.parametrize("turns", ["hello", [5], [None], [reply("ok"), 3.5]], ids=repr)
def test_turns_of_the_wrong_type(turns: Any) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        ScriptedModel(turns)


def test_the_accepted_kinds_of_turn() -> None:
    model = ScriptedModel([reply("a"), "b", {"text": "c"}])
    assert model.entry(2) == "models.scripted[2]"
