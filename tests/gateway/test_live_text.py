"""Streams of `dispatcher/auto` and `agent/<name>` carry the models' text as they write it
(`reasoning_content` deltas, word by word), then the checked answer as `content`."""

from __future__ import annotations

import math

import anyio
import pytest
from gateway_config import Gateway

from dispatcher._streaming import ModelTextDelta, StreamItem, _CallText
from dispatcher.redaction import register_secret

HELLO = [{"role": "user", "content": "hello there my friend"}]


def _split(chunks: list[object]) -> tuple[list[str], list[str]]:
    """The reasoning deltas and the content deltas, in stream order."""
    working, content = [], []
    for chunk in chunks:
        for choice in chunk.choices:  # type: ignore[attr-defined]
            extra = choice.delta.model_extra or {}
            if extra.get("reasoning_content"):
                assert not content, "work in progress arrived after the answer"
                working.append(extra["reasoning_content"])
            if choice.delta.content:
                content.append(choice.delta.content)
    return working, content


@pytest.mark.parametrize("model", ["dispatcher/auto", "agent/helper"])
def test_models_text_streams_word_by_word_before_the_answer(gateway: Gateway, model: str) -> None:
    _, client = gateway()
    chunks = list(client.chat.completions.create(model=model, messages=HELLO, stream=True))
    working, content = _split(chunks)
    assert "".join(content) == "answer: hello there my friend"
    # The worker's turn (and, for dispatcher/auto, the dispatcher's), a word per delta.
    assert "".join(working).startswith("answer: hello there my friend")
    assert working[:5] == ["answer: ", "hello ", "there ", "my ", "friend"]


def test_a_non_streamed_answer_has_no_work_in_progress(gateway: Gateway) -> None:
    _, client = gateway()
    completion = client.chat.completions.create(model="dispatcher/auto", messages=HELLO)
    message = completion.choices[0].message
    assert message.content == "answer: hello there my friend"
    assert "reasoning_content" not in (message.model_extra or {})


def test_a_secret_split_across_deltas_is_redacted_whole() -> None:
    secret = "sk-live-0123456789abcdefSECRET"
    register_secret(secret)
    send, receive = anyio.create_memory_object_stream[StreamItem](math.inf)
    text = _CallText("m", send)
    for piece in ["the key is sk-live-0123", "456789abcdef", "SECRET and ", "more"]:
        text.write(piece)
    text.end()
    send.close()
    items: list[StreamItem] = []
    while True:
        try:
            items.append(receive.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            break
    streamed = "".join(i.text for i in items if isinstance(i, ModelTextDelta))
    assert secret not in streamed and "[REDACTED]" in streamed
    assert streamed.endswith(" and more")
