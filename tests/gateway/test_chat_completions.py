"""The official `openai` SDK against the gateway: dispatcher/auto, agents, registry models."""

from __future__ import annotations

import os
from pathlib import Path

import openai
import pytest
from fake_upstream import FakeUpstream
from gateway_config import Gateway, run_events

from dispatcher.trace.reader import read_trace

HELLO = [{"role": "user", "content": "hello there"}]


def _trace(run_id: str) -> list[object]:
    return list(run_events(run_id))


def test_models_lists_auto_agents_and_registry_models(gateway: Gateway) -> None:
    _, client = gateway()
    ids = [model.id for model in client.models.list()]
    assert ids[0] == "dispatcher/auto"
    assert {"agent/helper", "agent/slowpoke", "brain", "echo", "claude"} <= set(ids)
    assert "agent/overwatch" not in ids  # only specialists are served as agents


def test_one_model_is_retrieved_by_its_id(gateway: Gateway) -> None:
    """The SDK's `models.retrieve`: GET /v1/models/{id}, ids with a slash included."""
    _, client = gateway()
    for model_id in ("dispatcher/auto", "agent/helper", "echo"):
        model = client.models.retrieve(model_id)
        assert model.id == model_id and model.object == "model"
    for missing in ("gpt-9", "agent/overwatch"):
        with pytest.raises(openai.NotFoundError) as caught:
            client.models.retrieve(missing)
        assert caught.value.code == "model_not_found"


def test_auto_answers_with_route_run_id_and_escalation_headers(gateway: Gateway) -> None:
    _, client = gateway()
    raw = client.chat.completions.with_raw_response.create(model="dispatcher/auto", messages=HELLO)
    completion = raw.parse()
    assert completion.choices[0].message.content == "answer: hello there"
    assert completion.model == "dispatcher/auto"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert raw.headers["x-dispatcher-route"] == "weak/brain"
    assert raw.headers["x-dispatcher-escalations"] == "0"
    trace = _trace(raw.headers["x-dispatcher-run-id"])
    assert trace[-1].kind == "run_finished" and trace[-1].status == "ok"  # type: ignore[attr-defined]
    assert any(e.kind == "route" and e.chosen == "helper" for e in trace)  # type: ignore[attr-defined]


def test_auto_streams_with_headers_set(gateway: Gateway) -> None:
    _, client = gateway()
    with client.chat.completions.with_streaming_response.create(
        model="dispatcher/auto",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        assert response.headers["x-dispatcher-route"] == "weak/brain"
        run_id = response.headers["x-dispatcher-run-id"]
        chunks = list(response.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "answer: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert chunks[-2].model_extra["dispatcher"]["run_id"] == run_id  # type: ignore[index]
    assert _trace(run_id)[-1].status == "ok"  # type: ignore[attr-defined]


def test_an_agent_model_runs_that_specialist_without_routing(gateway: Gateway) -> None:
    _, client = gateway()
    raw = client.chat.completions.with_raw_response.create(model="agent/helper", messages=HELLO)
    assert raw.parse().choices[0].message.content == "answer: hello there"
    assert raw.headers["x-dispatcher-route"] == "weak/brain"
    assert not any(e.kind == "route" for e in _trace(raw.headers["x-dispatcher-run-id"]))  # type: ignore[attr-defined]


def test_a_registry_model_is_relayed_and_traced(gateway: Gateway, upstream: FakeUpstream) -> None:
    _, client = gateway()
    raw = client.chat.completions.with_raw_response.create(
        model="echo", messages=HELLO, temperature=0.3, seed=7
    )
    assert raw.parse().choices[0].message.content == "echo: hello there"
    assert raw.headers["x-dispatcher-route"] == "direct/echo"
    sent = upstream.requests[-1]
    assert sent["model"] == "echo" and sent["temperature"] == 0.3 and sent["seed"] == 7
    trace = _trace(raw.headers["x-dispatcher-run-id"])
    call = next(e for e in trace if e.kind == "model_call")
    assert call.input_tokens == 11 and call.output_tokens == 7  # type: ignore[attr-defined]


def test_a_registry_model_streams_and_usage_is_only_sent_when_asked(
    gateway: Gateway, upstream: FakeUpstream
) -> None:
    _, client = gateway()
    plain = list(client.chat.completions.create(model="echo", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in plain if c.choices) == (
        "echo: hello there"
    )
    assert all(c.usage is None for c in plain)  # the usage the gateway asked for is dropped
    assert upstream.requests[-1]["stream_options"] == {"include_usage": True}
    with_usage = list(
        client.chat.completions.create(
            model="echo", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert with_usage[-1].usage is not None and with_usage[-1].usage.total_tokens == 18


def test_tool_calls_are_passed_through(gateway: Gateway, upstream: FakeUpstream) -> None:
    _, client = gateway()
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    completion = client.chat.completions.create(model="tools", messages=HELLO, tools=[weather])
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather" and call.function.arguments == '{"city": "Paris"}'  # type: ignore[union-attr]
    assert upstream.requests[-1]["tools"] == [weather]


def test_every_request_gets_a_trace_found_by_its_run_id(gateway: Gateway) -> None:
    _, client = gateway()
    create = client.chat.completions.with_raw_response.create
    ids = [
        create(model="echo", messages=HELLO).headers["x-dispatcher-run-id"],
        create(model="dispatcher/auto", messages=HELLO).headers["x-dispatcher-run-id"],
    ]
    with client.chat.completions.with_streaming_response.create(
        model="echo", messages=HELLO, stream=True
    ) as response:
        list(response.parse())
        ids.append(response.headers["x-dispatcher-run-id"])
    assert len(set(ids)) == 3
    for run_id in ids:
        events = run_events(run_id)
        assert {e.run_id for e in events} == {run_id}
        assert events[0].kind == "run_started" and events[-1].kind == "run_finished"
        assert events[-1].status == "ok"


def test_health_and_readiness(gateway: Gateway) -> None:
    import httpx2

    url, _ = gateway()
    assert httpx2.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx2.get(f"{url}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_per_process_traces_put_relayed_requests_in_one_file(gateway: Gateway) -> None:
    _, client = gateway({"gateway": {"traces": "per_process"}})
    ids = [
        client.chat.completions.with_raw_response.create(model="echo", messages=HELLO).headers[
            "x-dispatcher-run-id"
        ]
        for _ in range(2)
    ]
    list(client.chat.completions.create(model="echo", messages=HELLO, stream=True))
    auto = client.chat.completions.with_raw_response.create(model="dispatcher/auto", messages=HELLO)
    runs = Path(os.environ["DISPATCHER_RUNS_DIR"])
    (log,) = (runs / "gateway").glob("*.jsonl")
    events = list(read_trace(log))
    assert [e.kind for e in events].count("run_finished") == 3
    for run_id in ids:
        mine = [e for e in events if e.run_id == run_id]
        assert [e.kind for e in mine] == ["run_started", "model_call", "run_finished"]
    # Relayed requests made no file of their own; the dispatcher/auto run did.
    assert [p.stem for p in runs.glob("*.jsonl")] == [auto.headers["x-dispatcher-run-id"]]


def test_a_done_marker_inside_streamed_text_is_relayed_as_text(gateway: Gateway) -> None:
    _, client = gateway()
    tricky = [{"role": "user", "content": "say [DONE] now"}]
    chunks = list(client.chat.completions.create(model="echo", messages=tricky, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "echo: say [DONE] now"
    )
