"""ScriptedModel checks recorded requests, and pairs concurrent agents' turns by request."""

from __future__ import annotations

import anyio
import pytest

from dispatcher.cassette import CassetteTurn, RecordedRequest
from dispatcher.errors import UnexpectedModelCall
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.testing import ScriptedModel


def _turn(task: str, answer: str) -> CassetteTurn:
    recorded = RecordedRequest(last=({"role": "user", "content": task},))
    return CassetteTurn(text=answer, agent="w", request=recorded)


def _ask(model: ScriptedModel, task: str) -> str:
    request = ModelRequest(messages=[UserMessage(task)], metadata={"agent": "w"})
    return anyio.run(model.request, request).text


def test_two_runs_of_one_agent_get_their_own_turns_whatever_the_order() -> None:
    # Two instances of one agent run concurrently: their requests may arrive in either order.
    model = ScriptedModel([_turn("task A", "answer A"), _turn("task B", "answer B")], strict=True)
    assert _ask(model, "task B") == "answer B"
    assert _ask(model, "task A") == "answer A"
    model.check_complete()


def test_a_request_no_turn_was_recorded_for_names_the_first_candidate() -> None:
    model = ScriptedModel([_turn("task A", "answer A")], name="small", strict=True)
    with pytest.raises(UnexpectedModelCall, match=r"models\.small\[0\].*task C"):
        _ask(model, "task C")


def test_unused_turns_are_named() -> None:
    model = ScriptedModel([_turn("task A", "a"), _turn("task B", "b")], name="small")
    _ask(model, "task A")
    with pytest.raises(UnexpectedModelCall, match=r"never requested: models\.small\[1\]"):
        model.check_complete()
