"""The adapters never follow an upstream's redirect: followed, it would send the request body
(and, to the same origin, the API key) wherever the upstream says. A 3xx is a clear error
telling the user to point `api_base` at the URL that answers."""

from __future__ import annotations

import pytest
from wire_payloads import anthropic_message, openai_completion
from wire_server import Reply, WireServer, running_wire_server

from dispatcher.errors import ProviderError, RetryableProviderError
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import AnthropicModel, OpenAIModel

pytestmark = pytest.mark.anyio

ASK = ModelRequest(messages=[UserMessage("the secret plan")])


def _model(provider: str, base_url: str, stream: bool) -> OpenAIModel | AnthropicModel:
    # No http_client: the adapter builds its own, as it does for every user.
    if provider == "openai":
        return OpenAIModel(
            "gpt-test", api_key="sk-test-key-123", base_url=f"{base_url}/v1", stream=stream
        )
    return AnthropicModel(
        "claude-test", api_key="sk-ant-test-123", base_url=base_url, stream=stream
    )


def _answer(provider: str) -> Reply:
    return Reply.json(
        openai_completion(text="ok") if provider == "openai" else anthropic_message(text="ok")
    )


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_elsewhere_is_not_followed(
    wire_server: WireServer, provider: str, stream: bool, status: int
) -> None:
    with running_wire_server() as elsewhere:
        elsewhere.enqueue(_answer(provider))
        target = elsewhere.base_url + (
            "/v1/chat/completions" if provider == "openai" else "/v1/messages"
        )
        wire_server.enqueue(Reply.json({}, status=status, location=target))
        with pytest.raises(ProviderError) as caught:
            await _model(provider, wire_server.base_url, stream).request(ASK)
        assert elsewhere.requests == []  # the body never left for the other server
    error = caught.value
    assert not isinstance(error, RetryableProviderError)
    assert error.status_code == status
    assert "redirect" in str(error) and "api_base" in str(error)
    assert target in str(error)  # where it pointed, so the user can fix api_base
    assert len(wire_server.requests) == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_redirect_on_the_same_server_does_not_resend_the_key(
    wire_server: WireServer, provider: str
) -> None:
    wire_server.enqueue(Reply.json({}, status=308, location="/moved"), _answer(provider))
    with pytest.raises(ProviderError, match="redirect"):
        await _model(provider, wire_server.base_url, stream=False).request(ASK)
    assert [r.path for r in wire_server.requests] == [wire_server.requests[0].path]
    assert wire_server.requests[0].path != "/moved"


async def test_the_target_of_a_redirect_is_shown_printable(wire_server: WireServer) -> None:
    wire_server.enqueue(Reply.json({}, status=302, location="https://x.test/\x9b31mred"))
    with pytest.raises(ProviderError) as caught:
        await _model("openai", wire_server.base_url, stream=False).request(ASK)
    assert "\x9b" not in str(caught.value) and "\\x9b31mred" in str(caught.value)
