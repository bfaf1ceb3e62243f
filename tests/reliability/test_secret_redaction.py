"""Guarantee 13: API keys of the common shapes, bearer tokens, DSN passwords and registered
secrets are redacted from traces, logs and error messages."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from reliability_harness import Provider, client, error

from dispatcher.errors import ProviderError
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import OpenAIModel
from dispatcher.redaction import (
    REDACTED,
    has_registered_secret,
    redact,
    redact_registered,
    register_secret,
)
from dispatcher.testing import block_real_models
from dispatcher.trace.events import ModelCall, Note, ToolCallEvent
from dispatcher.trace.sink import JsonlTraceSink
from dispatcher.trace.tracer import Tracer

# Built at run time so no secret scanner mistakes this file for a leak.
ANTHROPIC = "sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8t" * 2
OPENAI = "sk-proj-" + "Zx9Cv8Bn7Mq6Wr5Ty4Ui3Op2" * 2
OPENAI_LEGACY = "sk-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
GROQ = "gsk_" + "q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6"
XAI = "xai-" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6"
GOOGLE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
HUGGING_FACE = "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
GITHUB = "ghp_" + "1234567890abcdefghijABCDEFGHIJ123456"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOp"


@pytest.mark.parametrize(
    "key",
    [ANTHROPIC, OPENAI, OPENAI_LEGACY, GROQ, XAI, GOOGLE, HUGGING_FACE, GITHUB, AWS, SLACK],
    ids=[
        "anthropic",
        "openai",
        "openai-legacy",
        "groq",
        "xai",
        "google",
        "hf",
        "github",
        "aws",
        "slack",
    ],
)
def test_api_keys_of_common_shapes_are_redacted(key: str) -> None:
    text = f"calling the API with {key} failed; retry with {key}."
    redacted = redact(text)
    assert key not in redacted
    assert redacted == f"calling the API with {REDACTED} failed; retry with {REDACTED}."


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sgn_abc", "Authorization: "),
        ("curl -H 'authorization: bearer abcdefgh12345678'", "curl -H 'authorization: "),
    ],
)
def test_bearer_tokens_are_redacted(text: str, kept: str) -> None:
    redacted = redact(text)
    assert redacted.startswith(kept) and REDACTED in redacted
    assert "12345678" not in redacted and "eyJzdWIi" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        # the gateway's 401 tells the client what to send: the scheme and a placeholder
        "send `Authorization: Bearer <key>` with a key listed in dispatcher.gateway.api_keys",
        "authorization: Basic <your credentials>",
    ],
)
def test_how_to_authenticate_is_not_mistaken_for_a_key(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Basic dXNlcjpjb3JyZWN0LWhvcnNl",
        "authorization=Bearer abcdefgh12345678",
        "Authorization: <x9Qk2mZ7pLw4>",
    ],
)
def test_credentials_after_an_auth_scheme_are_still_redacted(text: str) -> None:
    redacted = redact(text)
    assert REDACTED in redacted
    assert "dXNlcjpj" not in redacted and "12345678" not in redacted and "x9Qk2" not in redacted


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://app:s3cr3t-pw@db.internal:5432/sales",
            "postgresql://app:[REDACTED]@db.internal:5432/sales",
        ),
        ("redis://:hunter2hunter2@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
        (
            "mysql+pymysql://root:p%40ss@localhost/db",
            "mysql+pymysql://root:[REDACTED]@localhost/db",
        ),
        ("amqp://guest:guest@rabbit//", "amqp://guest:[REDACTED]@rabbit//"),
    ],
)
def test_dsn_passwords_are_redacted(dsn: str, expected: str) -> None:
    assert redact(f"connect to {dsn} now") == f"connect to {expected} now"


@pytest.mark.parametrize(
    "text",
    [
        'api_key="abc123def456"',
        "password: correct-horse-battery",
        "SECRET=swordfish99",
        '{"token": "tok_live_abcdef"}',
    ],
)
def test_key_value_assignments_are_redacted(text: str) -> None:
    redacted = redact(text)
    assert REDACTED in redacted
    for value in ("abc123def456", "correct-horse-battery", "swordfish99", "tok_live_abcdef"):
        assert value not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "the task-runner finished the skeleton in 3 s",
        "SELECT name FROM sk_items WHERE id = 4",
        "see https://example.com/docs/api?page=2",
        "AKIA is a prefix, not a key",
        "token budget: 500",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_registered_secrets_are_redacted_exactly_and_only_them() -> None:
    value = f"plain-{uuid.uuid4().hex}"  # no known shape: only registration can catch it
    assert redact(f"x {value} y") == f"x {value} y"
    register_secret(value)
    assert has_registered_secret(f"..{value}..")
    assert redact(f"x {value} y") == f"x {REDACTED} y"
    assert (
        redact_registered(f"x {value} y; api_key=abcdefgh") == f"x {REDACTED} y; api_key=abcdefgh"
    )
    register_secret("short")  # too short to register: would redact ordinary words
    assert redact("a short text") == "a short text"


def test_redaction_is_fast_on_megabytes() -> None:
    import time

    text = ("a line of ordinary tool output with sk-like words and passwords\n" * 160_000) + OPENAI
    started = time.perf_counter()
    redacted = redact(text)
    assert time.perf_counter() - started < 2.0
    assert OPENAI not in redacted


def test_every_trace_line_is_redacted(tmp_path: Path) -> None:
    registered = f"reg-{uuid.uuid4().hex}"
    register_secret(registered)
    path = tmp_path / "run.jsonl"
    tracer = Tracer("r1", [JsonlTraceSink(path)])
    tracer.emit(
        ToolCallEvent,
        agent="a",
        tool="connect",
        call_id="c1",
        arguments={"dsn": "postgres://u:topsecretpw@h/db", "key": ANTHROPIC},
        ok=False,
        error=f"auth failed for {registered}",
    )
    tracer.emit(
        ModelCall,
        agent="a",
        model="m",
        input_tokens=1,
        output_tokens=1,
        cost_usd=None,
        latency_ms=1.0,
        text=f"use Bearer abcdefgh12345678 and {GITHUB}",
    )
    tracer.emit(Note, message="x", data={"nested": {"deep": [OPENAI, AWS]}})
    tracer.close()
    content = path.read_text()
    for secret in (ANTHROPIC, registered, "topsecretpw", "abcdefgh12345678", GITHUB, OPENAI, AWS):
        assert secret not in content
    assert all(json.loads(line) for line in content.splitlines())  # still valid JSON


@pytest.mark.anyio
async def test_provider_error_messages_are_redacted() -> None:
    echoed = f"Incorrect API key provided: {OPENAI}. Connection string postgres://u:pw123456@h/x"
    provider = Provider(small=[error(401, echoed, request_id="req_redact")])
    with block_real_models(False):
        async with client(provider) as http:
            model = OpenAIModel(
                "m", api_key=OPENAI, base_url="http://small.test/v1", http_client=http
            )
            with pytest.raises(ProviderError) as caught:
                await model.request(ModelRequest(messages=[UserMessage("hi")]))
    import traceback

    printed = "".join(traceback.format_exception(caught.value))
    for text in (str(caught.value), printed):
        assert OPENAI not in text and "pw123456" not in text
    assert "req_redact" in str(caught.value) and "HTTP 401" in str(caught.value)
