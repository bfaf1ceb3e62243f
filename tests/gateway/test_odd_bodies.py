"""Bodies that are valid JSON to a lenient parser but that no client means to send: each is a
400 in OpenAI's shape before any model is involved, never a 500 and never relayed."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fake_upstream import FakeUpstream
from gateway_config import Gateway

HELLO = '[{"role": "user", "content": "hello there"}]'


def _post(url: str, content: bytes) -> httpx2.Response:
    return httpx2.post(
        f"{url}/v1/chat/completions",
        content=content,
        headers={"content-type": "application/json"},
        timeout=30,
    )


def _error(response: httpx2.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


@pytest.mark.parametrize("model", ["echo", "dispatcher/auto"])
@pytest.mark.parametrize(
    "body",
    [
        # nested past what the parser (or re-encoding it upstream) can take
        b'{"model": "M", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"model": "M", "messages": '
        + HELLO.encode()
        + b', "metadata": '
        + b"[" * 900
        + b"]" * 900
        + b"}",
        # NaN and Infinity are not JSON (Python's parser takes them; OpenAI refuses them)
        b'{"model": "M", "messages": ' + HELLO.encode() + b', "temperature": NaN}',
        b'{"model": "M", "messages": ' + HELLO.encode() + b', "max_tokens": -Infinity}',
        b'{"model": "M", "messages": ' + HELLO.encode() + b', "temperature": 1e999}',
        b'{"model": "M", "messages": ' + HELLO.encode() + b', "seed": ' + b"9" * 5000 + b"}",
        # a lone surrogate escape is no character: no trace line or UTF-8 body can hold it
        b'{"model": "M", "messages": [{"role": "user", "content": "hi \\ud800 there"}]}',
        b'{"model": "M", "messages": [{"role": "user", "content": "\\uDC00"}]}',
    ],
    ids=[
        "nested-100k",
        "nested-900",
        "nan",
        "infinity",
        "1e999",
        "5000-digits",
        "high-surrogate",
        "low-surrogate",
    ],
)
def test_an_unencodable_body_is_400_invalid_json(
    gateway: Gateway, upstream: FakeUpstream, model: str, body: bytes
) -> None:
    url, _ = gateway()
    response = _post(url, body.replace(b'"M"', f'"{model}"'.encode()))
    assert response.status_code == 400, response.text
    assert _error(response)["code"] == "invalid_json"
    assert upstream.requests == []


def test_surrogate_pairs_and_escaped_backslashes_are_fine(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    url, _ = gateway()
    # An emoji as a (valid) surrogate pair, and the six characters `\ud800` as text.
    text = '"smile \\ud83d\\ude00 and \\\\ud800"'
    body = f'{{"model": "echo", "messages": [{{"role": "user", "content": {text}}}]}}'
    response = _post(url, body.encode())
    assert response.status_code == 200, response.text
    assert upstream.requests[-1]["messages"][0]["content"] == "smile \U0001f600 and \\ud800"


def test_an_unknown_model_name_is_echoed_only_in_part(gateway: Gateway) -> None:
    """A 4 MiB model name is not sent back whole in the 404."""
    url, _ = gateway()
    name = "x" * (4 * 1024 * 1024)
    response = _post(url, f'{{"model": "{name}", "messages": {HELLO}}}'.encode())
    assert response.status_code == 404
    assert _error(response)["code"] == "model_not_found"
    assert len(response.content) < 1000
