"""Every fault a client can meet comes back in OpenAI's error shape, with the right status,
without a traceback and without a secret."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from fake_upstream import LEAKY_SECRET, FakeUpstream
from gateway_config import (
    CLIENT_KEY,
    UNSET_KEY_VARIABLE,
    UPSTREAM_KEY_VARIABLE,
    Gateway,
    run_events,
)

from dispatcher import Agent, Dispatcher, Registry
from dispatcher.gateway import create_app
from dispatcher.messages import ModelRequest, ModelResponse
from dispatcher.testing import FunctionModel

HELLO = [{"role": "user", "content": "hello there"}]


def _error(response: httpx2.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert {"message", "type", "param", "code"} <= set(body["error"])
    assert "Traceback" not in response.text
    return dict(body["error"])


def _post(url: str, content: bytes | str, **headers: str) -> httpx2.Response:
    return httpx2.post(
        f"{url}/v1/chat/completions",
        content=content,
        headers={"content-type": "application/json", **headers},
    )


def _runs() -> list[Path]:
    """Every trace file, the gateway's shared ones included."""
    return sorted(Path(os.environ["DISPATCHER_RUNS_DIR"]).rglob("*.jsonl"))


def test_invalid_json_is_400(gateway: Gateway) -> None:
    url, _ = gateway()
    response = _post(url, b'{"model": "echo", "messages": [')
    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_json"
    assert _error(_post(url, b"[1, 2]"))["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "echo"}, "messages"),
        ({"model": "echo", "messages": []}, "messages"),
        ({"model": "echo", "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"model": "echo", "messages": HELLO, "stream": "yes"}, "stream"),
        ({"messages": HELLO}, "model"),
    ],
)
def test_a_body_off_the_schema_is_400_naming_the_field(
    gateway: Gateway, body: dict[str, Any], param: str
) -> None:
    url, _ = gateway()
    response = _post(url, json.dumps(body))
    assert response.status_code == 400
    assert _error(response)["param"] == param


def test_an_unknown_model_or_agent_is_404(gateway: Gateway) -> None:
    _, client = gateway()
    for model in ("gpt-9", "agent/nobody", "agent/overwatch"):
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model=model, messages=HELLO)  # type: ignore[call-overload]
        assert caught.value.code == "model_not_found"


def test_an_unknown_path_is_404_in_openai_shape(gateway: Gateway) -> None:
    url, _ = gateway()
    response = httpx2.get(f"{url}/v1/embeddings")
    assert response.status_code == 404 and _error(response)["code"] == "not_found"


def test_client_tools_with_auto_are_400(gateway: Gateway) -> None:
    _, client = gateway()
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError, match="registry models"):
        client.chat.completions.create(model="dispatcher/auto", messages=HELLO, tools=[tool])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("s400", 400, "upstream_rejected"),
        ("s401", 502, "upstream_auth"),
        ("s429", 429, "rate_limit_exceeded"),
        ("s500", 502, None),
        ("s503", 502, None),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_errors_map_to_openai_errors(
    gateway: Gateway, model: str, status: int, code: str | None, stream: bool
) -> None:
    url, _ = gateway()
    body = {"model": model, "messages": HELLO, "stream": stream}
    response = _post(url, json.dumps(body))
    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code
    assert LEAKY_SECRET not in response.text
    assert response.headers["x-dispatcher-run-id"]
    if status == 429:
        assert response.headers["retry-after"] == "7"
    trace = run_events(response.headers["x-dispatcher-run-id"])
    assert trace[-1].kind == "run_finished" and trace[-1].status == "error"  # type: ignore[attr-defined]


def test_an_upstream_failure_inside_auto_is_502_with_the_run_id(gateway: Gateway) -> None:
    _, client = gateway({"dispatcher_model": "s500"})
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="dispatcher/auto", messages=HELLO)
    assert caught.value.status_code == 502
    assert LEAKY_SECRET not in caught.value.message
    run_id = caught.value.response.headers["x-dispatcher-run-id"]
    assert run_id in caught.value.message


@pytest.mark.parametrize("model", ["keyless", "dispatcher/auto"])
def test_a_key_the_gateway_lacks_is_its_fault_not_the_clients(
    gateway: Gateway, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UNSET_KEY_VARIABLE, raising=False)
    _, client = gateway({"dispatcher_model": "keyless"})
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=model, messages=HELLO)
    assert caught.value.status_code == 502  # not 400: the client's request was fine
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "upstream_auth"
    assert "no key" in caught.value.message and "--live" not in caught.value.message
    assert UNSET_KEY_VARIABLE not in caught.value.message  # the server's setup stays private
    run_id = caught.value.response.headers["x-dispatcher-run-id"]
    finished = run_events(run_id)[-1]
    assert UNSET_KEY_VARIABLE in str(finished.error)  # type: ignore[attr-defined]


def test_an_exhausted_usd_budget_is_402(gateway: Gateway) -> None:
    # The dispatcher's own call costs more than the budget: the worker may not start a call.
    _, client = gateway({"budgets": {"usd": 0.000001}})
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="dispatcher/auto", messages=HELLO)
    assert caught.value.status_code == 402
    assert caught.value.code == "budget_exceeded"
    assert "dispatcher.budgets.usd" in caught.value.message


def test_an_exhausted_turn_budget_is_429(gateway: Gateway) -> None:
    _, client = gateway({"budgets": {"turns": 1}})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="dispatcher/auto", messages=HELLO)
    assert caught.value.code == "budget_exceeded" and "'turns'" in caught.value.message


def test_a_budget_exhausted_mid_stream_ends_the_stream_with_an_error_event(
    gateway: Gateway,
) -> None:
    _, client = gateway({"budgets": {"turns": 1}})
    stream = client.chat.completions.create(model="dispatcher/auto", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError, match="budget 'turns' exhausted"):
        list(stream)


def test_a_crash_inside_the_run_is_500_without_detail(upstream: FakeUpstream) -> None:
    from fake_upstream import ServerThread

    def crash(request: ModelRequest) -> ModelResponse:
        raise RuntimeError(f"boom at /srv/secret/path with {LEAKY_SECRET}")

    registry = Registry()
    registry.register(Agent(name="helper", description="Helps.", tier="weak"))
    registry.use_models(lambda profile: FunctionModel(crash))
    config = {"model_list": [{"model_name": "m", "litellm_params": {"model": "openai/m"}}]}
    from dispatcher.registry.config import parse_registry_config

    registry.config = parse_registry_config({**config, "dispatcher": {"tiers": {"weak": "m"}}})
    server = ServerThread(create_app(Dispatcher(registry))).start()
    try:
        for stream in (False, True):
            response = _post(
                server.base_url,
                json.dumps({"model": "dispatcher/auto", "messages": HELLO, "stream": stream}),
            )
            assert response.status_code == 500
            error = _error(response)
            assert error["type"] == "internal_error"
            assert "boom" not in response.text and LEAKY_SECRET not in response.text
            assert response.headers["x-dispatcher-run-id"] in error["message"]
    finally:
        server.stop()


def test_client_keys_give_401_in_openai_shape_and_are_never_echoed(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_CLIENT_KEY", CLIENT_KEY)
    url, client = gateway(
        {"gateway": {"api_keys": ["os.environ/GATEWAY_CLIENT_KEY"]}}, api_key="wrong-key-123456"
    )
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="echo", messages=HELLO)
    assert caught.value.code == "invalid_api_key"
    assert "wrong-key-123456" not in caught.value.response.text
    assert CLIENT_KEY not in caught.value.response.text
    no_key = _post(url, json.dumps({"model": "echo", "messages": HELLO}))
    assert no_key.status_code == 401 and _error(no_key)["code"] == "invalid_api_key"
    assert httpx2.get(f"{url}/v1/models").status_code == 401
    assert httpx2.get(f"{url}/healthz").status_code == 200
    good = openai.OpenAI(base_url=f"{url}/v1", api_key=CLIENT_KEY, max_retries=0)
    assert good.chat.completions.create(model="echo", messages=HELLO).choices[0].message.content
    assert not any(CLIENT_KEY in path.read_text() for path in _runs())


def test_an_unset_client_key_variable_stops_the_start(
    tmp_path: Path, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway_config import write_config

    from dispatcher.errors import ConfigError

    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    config = write_config(
        tmp_path,
        upstream.base_url,  # type: ignore[attr-defined]
        {"gateway": {"api_keys": ["os.environ/NOT_SET_ANYWHERE"]}},
    )
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        create_app(config)


def test_a_body_over_the_limit_is_413(gateway: Gateway) -> None:
    url, _ = gateway()
    huge = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "x" * 9_000_000}]})
    response = _post(url, huge)
    assert response.status_code == 413 and "larger than" in _error(response)["message"]


def test_a_silent_upstream_past_its_timeout_is_504(gateway: Gateway) -> None:
    url, client = gateway()
    response = _post(url, json.dumps({"model": "hang-briefly", "messages": HELLO}))
    assert response.status_code == 504 and _error(response)["type"] == "upstream_timeout"
    trace = run_events(response.headers["x-dispatcher-run-id"])
    assert trace[-1].status == "error"  # type: ignore[attr-defined]
    # On a stream already started, the same failure is OpenAI's in-stream error event.
    stream = client.chat.completions.create(model="hang-briefly", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError, match="timed out"):
        list(stream)


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_without_default_credentials_is_the_gateways_fault(
    gateway: Gateway, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`claude` has no `api_key` and ANTHROPIC_API_KEY is unset: the operator's setup."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    _, client = gateway()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="claude", messages=HELLO, stream=stream)
    assert caught.value.status_code == 502
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "upstream_auth"
    assert "ANTHROPIC_API_KEY" not in caught.value.message  # the server's setup stays private


def test_client_keys_are_compared_without_revealing_their_length(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compare_digest is constant-time only for inputs of equal length: a presented key of
    another length must not return early (and so tell how long the real key is)."""
    import hmac

    lengths: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        lengths.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setenv("GATEWAY_CLIENT_KEY", CLIENT_KEY)
    monkeypatch.setattr(hmac, "compare_digest", recording)
    url, client = gateway({"gateway": {"api_keys": ["os.environ/GATEWAY_CLIENT_KEY"]}}, "k")
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="echo", messages=HELLO)
    good = openai.OpenAI(base_url=f"{url}/v1", api_key=CLIENT_KEY, max_retries=0)
    assert good.chat.completions.create(model="echo", messages=HELLO).choices[0].message.content
    assert lengths and all(a == b for a, b in lengths)


def test_a_client_key_read_with_a_trailing_newline_still_matches(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export KEY="$(cat key.txt)"` keeps no newline, but a .env file or a secret mount can."""
    monkeypatch.setenv("GATEWAY_CLIENT_KEY", f" {CLIENT_KEY}\n")
    _, client = gateway({"gateway": {"api_keys": ["os.environ/GATEWAY_CLIENT_KEY"]}}, CLIENT_KEY)
    assert client.chat.completions.create(model="echo", messages=HELLO).choices[0].message.content


@pytest.mark.parametrize("model", ["tell-key", "dispatcher/auto"])
def test_an_upstream_key_read_with_a_trailing_newline_is_sent_without_it(
    gateway: Gateway, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent as read, it made the relay's HTTP client refuse the header: a bare 500."""
    monkeypatch.setenv(UPSTREAM_KEY_VARIABLE, "sk-gateway-own-upstream-key-0123456789\n")
    tiers = {"weak": "tell-key", "strong": "tell-key"}
    _, client = gateway({"dispatcher_model": "tell-key", "tiers": tiers})
    answer = client.chat.completions.create(model=model, messages=HELLO)
    assert answer.choices[0].message.content


@pytest.mark.parametrize("stream", [False, True])
def test_an_unexpected_failure_of_a_relay_names_its_run(
    gateway: Gateway, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dispatcher.gateway import _passthrough

    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug with a detail the client must not see")

    monkeypatch.setattr(_passthrough, "relay_stream" if stream else "relay_json", broken)
    _, client = gateway()
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="echo", messages=HELLO, stream=stream)
    run_id = caught.value.response.headers["x-dispatcher-run-id"]
    assert run_id in caught.value.message and "detail" not in caught.value.message
    assert run_events(run_id)[-1].status == "error"  # type: ignore[attr-defined]
