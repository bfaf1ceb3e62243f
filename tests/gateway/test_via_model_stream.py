"""A streamed answer from a registry model on another wire API (Anthropic) sends the model's
text as it writes it; retries and fallbacks apply until the first text is sent, not after."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from fake_upstream import ServerThread

from dispatcher import Agent, Dispatcher, Registry
from dispatcher.errors import ModelConnectionError
from dispatcher.gateway import create_app
from dispatcher.messages import ModelRequest, ModelResponse, Usage
from dispatcher.models import RetryingModel, RetryPolicy
from dispatcher.models._text_deltas import text_writer
from dispatcher.registry.config import parse_registry_config
from dispatcher.registry.profiles import ModelProfile
from dispatcher.testing import FunctionModel
from dispatcher.trace.reader import list_run_refs, read_run

HELLO = [{"role": "user", "content": "hello there"}]
calls: list[str] = []


def _model(profile: ModelProfile) -> RetryingModel:
    """Each registry model as a streaming adapter would behave, with one quick retry."""

    async def answer(request: ModelRequest) -> ModelResponse:
        calls.append(profile.name)
        writer = text_writer(profile.name)
        if profile.name == "down":  # fails before any text
            raise ModelConnectionError("refused", model="down")
        if profile.name == "flaky" and calls.count("flaky") == 1:  # fails after some text
            assert writer is not None
            writer.write("half an ")
            writer.end()
            raise ModelConnectionError("dropped", model="flaky")
        if writer is not None:
            for piece in ("claude", ": hel", "lo the", "re"):
                writer.write(piece)
            writer.end()
        return ModelResponse("claude: hello there", usage=Usage(9, 4))

    return RetryingModel(
        FunctionModel(answer, model_id=profile.name),
        policy=RetryPolicy(max_retries=1 if profile.name == "flaky" else 0, initial_delay_s=0),
    )


@pytest.fixture
def client() -> Iterator[openai.OpenAI]:
    names = ["steady", "down", "flaky"]
    config = {
        "model_list": [
            {"model_name": n, "litellm_params": {"model": f"anthropic/{n}"}} for n in names
        ],
        "dispatcher": {"tiers": {"strong": "steady"}, "fallbacks": {"down": ["steady"]}},
    }
    registry = Registry(parse_registry_config(config))
    registry.register(Agent(name="helper", description="Helps.", tier="strong"))
    registry.use_models(_model)
    server = ServerThread(create_app(Dispatcher(registry))).start()
    calls.clear()
    yield openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="k", max_retries=0)
    server.stop()


def _content(chunks: list[object]) -> list[str]:
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]  # type: ignore[attr-defined]


def test_the_text_streams_whole_words_as_the_model_writes_them(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="steady", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert _content(chunks) == ["claude: ", "hello ", "there"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 13


def test_a_failure_before_any_text_falls_back_and_the_route_says_so(
    client: openai.OpenAI,
) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="down", messages=HELLO, stream=True
    ) as response:
        assert response.headers["x-dispatcher-route"] == "strong/steady"
        chunks = list(response.parse())
    assert "".join(_content(chunks)) == "claude: hello there"
    assert calls == ["down", "steady"]


def test_a_failure_after_text_was_sent_ends_the_stream_without_a_second_answer(
    client: openai.OpenAI,
) -> None:
    stream = client.chat.completions.create(model="flaky", messages=HELLO, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError, match="after part of its answer was sent"):
        for chunk in stream:
            received += _content([chunk])
    assert received == ["half an "]  # the retry's text never followed it
    (latest,) = list_run_refs(limit=1)
    events = read_run(latest)
    assert events[-1].kind == "run_finished" and events[-1].status == "error"  # type: ignore[union-attr]
