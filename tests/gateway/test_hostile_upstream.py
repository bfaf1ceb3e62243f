"""An upstream that answers with something other than Chat Completions: the client gets an
OpenAI-shaped error (or a clean stream), never the upstream's page, and never more than the
upstream's one answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2
import openai
import pytest
from fake_upstream import FakeUpstream, ServerThread
from gateway_config import UPSTREAM_KEY_VARIABLE, Gateway, run_events, write_config

from dispatcher.gateway import create_app

HELLO = [{"role": "user", "content": "hello there"}]


@pytest.mark.parametrize("stream", [False, True])
def test_a_page_instead_of_an_answer_is_502(gateway: Gateway, stream: bool) -> None:
    url, _ = gateway()
    response = httpx2.post(
        f"{url}/v1/chat/completions",
        json={"model": "html", "messages": HELLO, "stream": stream},
        timeout=30,
    )
    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert "<html>" not in response.text
    finished = run_events(response.headers["x-dispatcher-run-id"])[-1]
    assert finished.status == "error"  # type: ignore[attr-defined]


@pytest.mark.parametrize("stream", [False, True])
def test_a_redirect_is_not_followed(gateway: Gateway, upstream: FakeUpstream, stream: bool) -> None:
    """The body and key go only where `api_base` says; a redirect is the operator's to fix."""
    _, client = gateway()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="redirect", messages=HELLO, stream=stream)
    assert caught.value.status_code == 502
    assert "api_base" in caught.value.message
    assert upstream.redirected == []


def test_nothing_after_the_upstreams_done_reaches_the_client(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    url, _ = gateway()
    started = time.monotonic()
    response = httpx2.post(
        f"{url}/v1/chat/completions",
        json={"model": "after-done", "messages": HELLO, "stream": True},
        timeout=30,
    )
    assert time.monotonic() - started < 10  # the stream did not wait for the upstream's end
    assert response.status_code == 200
    assert "FORGED" not in response.text
    assert response.text.endswith("data: [DONE]\n\n")
    assert response.text.count("[DONE]") == 1
    assert upstream.gone.wait(5)  # the upstream connection was let go
    finished = run_events(response.headers["x-dispatcher-run-id"])[-1]
    assert finished.status == "ok"  # type: ignore[attr-defined]


def test_crlf_line_ends_split_across_reads_are_one_stream(gateway: Gateway) -> None:
    _, client = gateway()
    chunks = list(client.chat.completions.create(model="crlf", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "line ends"


@pytest.mark.parametrize(("model", "stream"), [("endless", True), ("huge", False)])
def test_an_answer_that_never_ends_is_cut_off_with_a_502(
    gateway: Gateway, upstream: FakeUpstream, model: str, stream: bool
) -> None:
    """Not buffered without bound: an event or body past the limit is the upstream's fault."""
    url, _ = gateway()
    response = httpx2.post(
        f"{url}/v1/chat/completions",
        json={"model": model, "messages": HELLO, "stream": stream},
        timeout=60,
    )
    assert response.status_code == 502, response.text[:200]
    assert "larger than" in response.json()["error"]["message"]
    assert upstream.gone.wait(5)


@pytest.mark.parametrize("stream", [False, True])
def test_the_gateways_upstream_key_told_back_by_the_upstream_is_redacted(
    gateway: Gateway, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-gateway-own-upstream-key-0123456789"
    monkeypatch.setenv(UPSTREAM_KEY_VARIABLE, key)
    url, _ = gateway()
    response = httpx2.post(
        f"{url}/v1/chat/completions",
        json={"model": "tell-key", "messages": HELLO, "stream": stream},
        timeout=30,
    )
    assert response.status_code == 200
    text = response.text
    if stream:  # word by word: the key came whole in one event
        events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    assert "I got Bearer [REDACTED]" in text
    assert key not in response.text


def test_an_error_body_sent_with_200_is_a_502_saying_so(gateway: Gateway) -> None:
    _, client = gateway()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="error-200", messages=HELLO)
    assert caught.value.status_code == 502
    assert "overloaded" in caught.value.message


def test_an_absurd_usage_is_not_a_failure(gateway: Gateway) -> None:
    """The answer is relayed; the trace counts what it can (nothing, here)."""
    _, client = gateway()
    raw = client.chat.completions.with_raw_response.create(model="odd-usage", messages=HELLO)
    assert raw.parse().choices[0].message.content == "echo: hello there"
    call = next(e for e in run_events(raw.headers["x-dispatcher-run-id"]) if e.kind == "model_call")
    assert call.input_tokens == 0 and call.output_tokens == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", ["wait-nan", "wait-inf", "wait-1e400"])
def test_a_retry_after_that_is_no_number_is_ignored(gateway: Gateway, model: str) -> None:
    _, client = gateway()
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=model, messages=HELLO)
    assert "retry-after" not in caught.value.response.headers


def test_a_stream_event_that_is_no_json_object_is_a_502(gateway: Gateway) -> None:
    """The SDKs would fail on it with a bare JSONDecodeError, not an API error."""
    _, client = gateway()
    with pytest.raises(openai.APIStatusError) as caught:
        list(client.chat.completions.create(model="garbled", messages=HELLO, stream=True))
    assert caught.value.status_code == 502
    assert "not a JSON object" in caught.value.message


def test_an_upstreams_cookie_is_not_sent_with_other_clients_requests(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    """The gateway's one HTTP client serves every caller: a cookie the upstream sets for one
    answer must not ride along on the next caller's request. (By host name: an HTTP client
    may refuse cookies from a bare IP address, which would hide the leak.)"""
    by_name = upstream.base_url.replace("127.0.0.1", "localhost")  # type: ignore[attr-defined]
    server = ServerThread(create_app(write_config(tmp_path, by_name))).start()
    try:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)
        client.chat.completions.create(model="set-cookie", messages=HELLO)
        client.chat.completions.create(model="echo", messages=HELLO)
    finally:
        server.stop()
    assert upstream.headers[-1]["host"].startswith("localhost")
    assert "cookie" not in upstream.headers[-1]
