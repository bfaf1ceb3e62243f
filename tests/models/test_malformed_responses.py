"""A malformed provider response (not JSON, wrong shape) is a typed error retried like a 5xx,
through the real SDK clients over an httpx2.MockTransport."""

from __future__ import annotations

import json

import httpx2
import pytest

from dispatcher.errors import MalformedResponseError, RetryableProviderError
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import AnthropicModel, Model, OpenAIModel, RetryingModel, RetryPolicy

pytestmark = pytest.mark.anyio

REQUEST = ModelRequest(messages=(UserMessage("hi"),))
OPENAI_OK = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "fine"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
ANTHROPIC_OK = {
    "id": "m1",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "content": [{"type": "text", "text": "fine"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 1},
}
BAD_TOOL_CALL = {
    **OPENAI_OK,
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "x", "type": "function", "function": {"name": "f", "arguments": 5}}
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
}
MALFORMED: list[tuple[str, bytes]] = [
    ("not-json", b"<html>502 from a proxy</html>"),
    ("empty", b""),
    ("a-list", b"[]"),
    ("a-string", b'"hello"'),
    ("no-choices-or-content", b'{"foo": 1}'),
    ("null-message", b'{"choices": [{"message": null}], "content": null}'),
    ("arguments-not-text", json.dumps(BAD_TOOL_CALL).encode()),
    ("content-not-a-list", b'{"type": "message", "content": 5, "choices": [{"message": 5}]}'),
    ("nested-past-the-parser", b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
]


def _model(kind: str, answers: list[bytes]) -> tuple[Model, list[int]]:
    sent: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(1)
        body = answers.pop(0)
        return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    if kind == "openai":
        return OpenAIModel("m", api_key="sk-x", base_url="http://p.test/v1", http_client=http), sent
    return AnthropicModel("m", api_key="sk-x", base_url="http://p.test", http_client=http), sent


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize(("case", "body"), MALFORMED, ids=[c for c, _ in MALFORMED])
async def test_a_malformed_response_is_a_typed_retryable_error(
    kind: str, case: str, body: bytes
) -> None:
    model, _ = _model(kind, [body])
    with pytest.raises(MalformedResponseError) as caught:
        await model.request(REQUEST)
    assert isinstance(caught.value, RetryableProviderError)  # retried like a 5xx
    assert caught.value.__cause__ is None  # the SDK's exception may quote a key


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_malformed_response_is_retried_then_the_good_one_is_used(kind: str) -> None:
    good = json.dumps(OPENAI_OK if kind == "openai" else ANTHROPIC_OK).encode()
    inner, sent = _model(kind, [b"not json", b'{"foo": 1}', good])
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    model = RetryingModel(inner, policy=RetryPolicy(max_retries=3), sleep=sleep)
    response = await model.request(REQUEST)
    assert response.text == "fine"
    assert len(sent) == 3 and len(slept) == 2
