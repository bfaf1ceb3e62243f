"""A key never leaves the process: not in RunResult fields, cassettes written by --record,
exception messages and their chains, nor in tool arguments where it is split or encoded."""

from __future__ import annotations

import base64
import json
import traceback
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest
from reliability_harness import scripted_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.cassette import Cassette
from dispatcher.messages import ModelRequest, ModelResponse, ToolCall, Usage
from dispatcher.recording import RecordingModel
from dispatcher.redaction import has_registered_secret, redact_exception, register_secret
from dispatcher.testing import FunctionModel, reply, tool_calls

sent: list[str] = []


@tool
def send(text: str, extra: str = "") -> str:
    """Send a message out."""
    sent.append(text + extra)
    return "sent"


SENDER = Agent(name="sender", description="Sends.", tools=[send], tier="weak")


@pytest.fixture
def canary() -> str:
    value = f"sk-canary{uuid.uuid4().hex}{uuid.uuid4().hex}"
    register_secret(value)
    sent.clear()
    return value


def _encodings(key: str) -> dict[str, Any]:
    half = len(key) // 2
    return {
        "base64": {"text": base64.b64encode(key.encode()).decode()},
        "base64url": {"text": base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")},
        "hex": {"text": key.encode().hex()},
        "url": {"text": urllib.parse.quote(key, safe="")},
        "reversed": {"text": key[::-1]},
        "split-fields": {"text": key[:half], "extra": key[half:]},
        "split-spaces": {"text": " ".join(key[i : i + 5] for i in range(0, len(key), 5))},
        "upper": {"text": key.upper()},
        "partial": {"text": "prefix " + key[3:40]},
        "embedded-base64": {"text": "data: " + base64.b64encode(f"k={key};".encode()).decode()},
    }


@pytest.mark.parametrize(
    "encoding",
    [
        "base64",
        "base64url",
        "hex",
        "url",
        "reversed",
        "split-fields",
        "split-spaces",
        "upper",
        "partial",
        "embedded-base64",
    ],
)
def test_split_or_encoded_keys_are_seen(canary: str, encoding: str) -> None:
    arguments = json.dumps(_encodings(canary)[encoding], sort_keys=True)
    assert has_registered_secret(arguments)


def test_ordinary_arguments_are_not_mistaken_for_keys(canary: str) -> None:
    for text in (
        "SELECT * FROM Track LIMIT 5",
        base64.b64encode(b"hello world, nothing to see here at all").decode(),
        "0123456789abcdef" * 4,
        json.dumps({"path": "src/app.py", "content": "x = 1\n" * 50}),
    ):
        assert not has_registered_secret(text)


@pytest.mark.parametrize("encoding", ["base64", "split-fields", "reversed"])
def test_a_call_with_an_encoded_key_never_runs_and_the_trace_does_not_hold_it(
    tmp_path: Path, canary: str, encoding: str
) -> None:
    arguments = _encodings(canary)[encoding]
    registry, _, _ = scripted_registry(
        [SENDER],
        small=[
            tool_calls(("sender", {"task": "send"}), agent="dispatcher"),
            tool_calls(("send", arguments), agent="sender"),
            reply("done", agent="sender"),
            reply("done", agent="dispatcher"),
        ],
    )
    Dispatcher(registry, runs_dir=tmp_path).run_sync("send")
    assert sent == []
    (trace,) = tmp_path.glob("*.jsonl")
    content = trace.read_text()
    assert arguments["text"] not in content
    assert "secret_in_arguments" in content


def test_run_result_fields_are_redacted(tmp_path: Path, canary: str) -> None:
    registry, _, _ = scripted_registry(
        [SENDER],
        small=[
            tool_calls(("sender", {"task": "send"}), agent="dispatcher"),
            reply(f"the key is {canary}", agent="sender"),
            reply(f"final: {canary} and sk-ant-api03-{'x' * 30}", agent="dispatcher"),
        ],
    )
    result = Dispatcher(registry, runs_dir=tmp_path).run_sync("send")
    assert result.answer is not None and canary not in result.answer
    assert "sk-ant-api03" not in result.answer and "[REDACTED]" in result.answer
    assert canary not in repr(result)
    for event in result.events:
        assert canary not in event.model_dump_json()


@pytest.mark.anyio
async def test_recorded_cassettes_hold_no_key(canary: str) -> None:
    def answer(request: ModelRequest) -> ModelResponse:
        return ModelResponse(
            f"here: {canary}",
            tool_calls=(ToolCall("c1", "send", json.dumps({"text": canary})),),
            usage=Usage(1, 1),
        )

    cassette = Cassette()
    model = RecordingModel(FunctionModel(answer), "small", cassette)
    await model.request(ModelRequest(messages=()))
    (turn,) = cassette.models["small"]
    assert canary not in turn.text and canary not in turn.tool_calls[0].arguments
    json.loads(turn.tool_calls[0].arguments)  # still valid JSON for a replay


def test_exception_messages_and_their_chains_are_redacted(canary: str) -> None:
    try:
        try:
            raise ValueError(f"inner with {canary}")
        except ValueError as inner:
            raise RuntimeError(f"outer with {canary}") from inner
    except RuntimeError as outer:
        outer.add_note(f"note with {canary}")
        caught = outer
    try:
        raise KeyError(canary)
    except KeyError as context_only:
        caught.__cause__.__context__ = context_only  # type: ignore[union-attr]
    redact_exception(caught)
    printed = "".join(traceback.format_exception(caught))
    assert canary not in printed
    assert "inner with [REDACTED]" in printed and "outer with [REDACTED]" in printed


def test_an_error_out_of_a_run_is_redacted_with_its_chain(tmp_path: Path, canary: str) -> None:
    def broken(request: ModelRequest) -> ModelResponse:
        try:
            raise OSError(f"socket said {canary}")
        except OSError as exc:
            raise RuntimeError(f"provider SDK failed: {canary}") from exc

    registry, _, _ = scripted_registry([SENDER], small=[])
    registry.use_models({"small": FunctionModel(broken)})
    with pytest.raises(RuntimeError) as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("send")
    printed = "".join(traceback.format_exception(caught.value))
    assert canary not in printed and "[REDACTED]" in printed
    assert canary not in (tmp_path / next(tmp_path.glob("*.jsonl")).name).read_text()


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_provider_error_keeps_no_sdk_exception_that_could_hold_the_key(
    canary: str, kind: str
) -> None:
    import httpx2

    from dispatcher.errors import ProviderError
    from dispatcher.models import AnthropicModel, OpenAIModel
    from dispatcher.testing import block_real_models

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = {"error": {"message": f"Incorrect API key provided: {canary}", "type": "auth"}}
        return httpx2.Response(401, json=body)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    model = (
        OpenAIModel("m", api_key=canary, base_url="http://p.test/v1", http_client=http)
        if kind == "openai"
        else AnthropicModel("m", api_key=canary, base_url="http://p.test", http_client=http)
    )
    with block_real_models(False), pytest.raises(ProviderError) as caught:
        await model.request(ModelRequest(messages=()))
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert canary not in "".join(traceback.format_exception(caught.value))


@pytest.mark.anyio
async def test_an_agent_result_is_redacted(tmp_path: Path, canary: str) -> None:
    from dispatcher import run_agent
    from dispatcher.runner import run_session

    registry, _, _ = scripted_registry([SENDER], small=[reply(f"key {canary}", agent="sender")])
    async with run_session(registry, "t", entry="sender", runs_dir=tmp_path) as (run, _):
        result = await run_agent(SENDER, "say the key", run)
    assert canary not in result.output and "[REDACTED]" in result.output
