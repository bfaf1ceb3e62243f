"""Adapters that stream text to a listener say whose call it is: the request's agent."""

from __future__ import annotations

from typing import Any

import pytest
from mock_wire import MockWire, sse_response
from wire_payloads import anthropic_stream, openai_stream

from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import AnthropicModel, OpenAIModel
from dispatcher.models._text_deltas import TextWriter, text_listener, writing_agent

pytestmark = pytest.mark.anyio

REQUEST = ModelRequest(messages=[UserMessage("hi")], metadata={"agent": "sales", "role": "worker"})


class Heard:
    """A listener that keeps, per call, the model id, the agent and the text."""

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []

    def __call__(self, model_id: str) -> TextWriter:
        call: list[Any] = [model_id, writing_agent(), ""]
        self.calls.append(call)
        heard = self

        class Writer:
            def write(self, text: str) -> None:
                call[2] += text

            def end(self) -> None:
                heard.calls.append(["end"])

        return Writer()


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_the_listener_learns_the_agent_of_each_streamed_call(provider: str) -> None:
    if provider == "openai":
        wire = MockWire(sse_response(openai_stream(text_chunks=("Hel", "lo"))))
    else:
        wire = MockWire(sse_response(anthropic_stream(text_chunks=("Hel", "lo"))))
    heard = Heard()
    async with wire.client() as http:
        model: OpenAIModel | AnthropicModel = (
            OpenAIModel("gpt-test", api_key="k", http_client=http)
            if provider == "openai"
            else AnthropicModel("claude-test", api_key="k", http_client=http)
        )
        with text_listener(heard):
            await model.request(REQUEST)
    assert heard.calls == [[model.model_id, "sales", "Hello"], ["end"]]
    assert writing_agent() is None  # only while the writer is made
