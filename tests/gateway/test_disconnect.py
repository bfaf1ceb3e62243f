"""A client that goes away cancels the upstream request and the run (trace: `cancelled`)."""

from __future__ import annotations

import time

import httpx2
import pytest
from fake_upstream import FakeUpstream
from gateway_config import Gateway, run_events

from dispatcher.errors import DataError
from dispatcher.trace.reader import list_run_refs

HELLO = [{"role": "user", "content": "hello there"}]


def _final_status(run_id: str) -> str:
    """The trace's run_finished status, waiting (bounded) for the gateway to write it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            events = run_events(run_id)
        except DataError:  # not written yet
            events = []
        if events and events[-1].kind == "run_finished":
            return str(events[-1].status)  # type: ignore[attr-defined]
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} never finished")


@pytest.mark.parametrize("model", ["hang", "agent/slowpoke"])
def test_closing_a_stream_cancels_upstream_and_run(
    gateway: Gateway, upstream: FakeUpstream, model: str
) -> None:
    _, client = gateway()
    with client.chat.completions.with_streaming_response.create(
        model=model, messages=HELLO, stream=True
    ) as response:
        run_id = response.headers["x-dispatcher-run-id"]
        if model == "hang":
            assert next(iter(response.parse())).choices[0].delta.content == "first"
        assert upstream.hanging.wait(timeout=10)  # the run's model call is in flight
    assert upstream.gone.wait(timeout=10), "the upstream request was not cancelled"
    assert _final_status(run_id) == "cancelled"


@pytest.mark.parametrize("model", ["hang", "agent/slowpoke"])
def test_a_client_timing_out_cancels_upstream_and_run(
    gateway: Gateway, upstream: FakeUpstream, model: str
) -> None:
    url, _ = gateway()
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.post(
            f"{url}/v1/chat/completions",
            json={"model": model, "messages": HELLO},
            timeout=httpx2.Timeout(10.0, read=0.5),
        )
    assert upstream.gone.wait(timeout=10), "the upstream request was not cancelled"
    (latest,) = list_run_refs(limit=1)
    assert _final_status(latest.run_id) == "cancelled"
