"""build_model: provider prefix -> adapter, with helpful errors for mistakes."""

from __future__ import annotations

import pytest
from mock_wire import MockWire, json_response
from wire_payloads import openai_completion

from dispatcher.errors import ConfigError
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import AnthropicModel, OpenAIModel, build_model


def test_anthropic_prefix_builds_the_anthropic_adapter() -> None:
    model = build_model("anthropic/claude-sonnet-4-5", api_key="k-123456", api_base=None)
    assert isinstance(model, AnthropicModel)
    assert model.model_id == "claude-sonnet-4-5"


def test_openai_prefix_builds_the_openai_adapter() -> None:
    model = build_model("openai/gpt-4o-mini", api_key=None, api_base=None)
    assert isinstance(model, OpenAIModel)
    assert model.model_id == "gpt-4o-mini"


@pytest.mark.parametrize("prefix", ["ollama", "hosted_vllm", "openai_compatible", "llamacpp"])
def test_compatible_prefixes_need_an_api_base(prefix: str) -> None:
    with pytest.raises(ConfigError, match="api_base"):
        build_model(f"{prefix}/qwen2.5", api_key=None, api_base=None)
    model = build_model(f"{prefix}/qwen2.5", api_key=None, api_base="http://127.0.0.1:8000/v1")
    assert isinstance(model, OpenAIModel)
    assert model.model_id == "qwen2.5"


def test_model_names_may_contain_slashes() -> None:
    model = build_model(
        "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", api_key=None, api_base="http://127.0.0.1:8000/v1"
    )
    assert model.model_id == "Qwen/Qwen2.5-7B-Instruct"


@pytest.mark.anyio
async def test_ollama_root_url_gets_the_openai_path(anyio_backend: str) -> None:
    wire = MockWire(json_response(openai_completion(text="ok")))
    async with wire.client() as http:
        model = build_model(
            "ollama/llama3.2", api_key=None, api_base="http://127.0.0.1:11434", http_client=http
        )
        await model.request(ModelRequest(messages=[UserMessage("hi")]))
    assert str(wire.requests[0].url) == "http://127.0.0.1:11434/v1/chat/completions"


def test_unknown_prefix_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        build_model("mistral/large", api_key=None, api_base=None)
    message = str(caught.value)
    assert "'mistral/'" in message
    for known in ("anthropic/", "openai/", "ollama/", "hosted_vllm/", "openai_compatible/"):
        assert known in message


def test_missing_prefix_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no provider prefix"):
        build_model("gpt-4o", api_key=None, api_base=None)


def test_options_reach_the_adapter_and_unknown_ones_are_refused() -> None:
    model = build_model(
        "anthropic/claude-haiku-4-5",
        api_key="k-123456",
        api_base=None,
        stream=True,
        timeout_s=5.0,
    )
    assert isinstance(model, AnthropicModel)
    assert (model._stream, model._timeout_s) == (True, 5.0)
    with pytest.raises(ConfigError, match="strem") as caught:
        build_model("openai/gpt-4o", api_key=None, api_base=None, strem=True)
    assert "stream" in str(caught.value)


def test_litellm_option_spellings_are_accepted_and_router_keys_ignored() -> None:
    model = build_model(
        "openai/gpt-4o-mini",
        api_key=None,
        api_base=None,
        timeout=30,
        stream_timeout=5,
        max_tokens=256,
        rpm=100,
        num_retries=2,
    )
    assert isinstance(model, OpenAIModel)
    assert (model._timeout_s, model._idle_timeout_s, model._max_output_tokens) == (30, 5, 256)


def test_an_option_given_in_both_spellings_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="twice"):
        build_model(
            "anthropic/claude-haiku-4-5", api_key=None, api_base=None, timeout=1, timeout_s=2
        )
