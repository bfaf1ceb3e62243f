"""Stopping the gateway while requests are in flight: each client gets an answer in OpenAI's
shape (503, or an error event on a stream already started) and each run's trace ends."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx2
from fake_upstream import FakeUpstream, ServerThread
from gateway_config import run_events, write_config

from dispatcher.gateway import create_app

HELLO = [{"role": "user", "content": "hello there"}]
CASES = [("hang", True), ("hang", False), ("agent/slowpoke", True), ("agent/slowpoke", False)]


def test_requests_in_flight_at_shutdown_get_a_503_and_traces_end(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    server = ServerThread(create_app(write_config(tmp_path, upstream.base_url))).start()  # type: ignore[attr-defined]
    server.server.config.timeout_graceful_shutdown = 0.5  # then what runs is cancelled
    answers: dict[tuple[str, bool], dict[str, Any]] = {}

    def ask(model: str, stream: bool) -> None:
        body = {"model": model, "messages": HELLO, "stream": stream}
        with httpx2.stream(
            "POST", f"{server.base_url}/v1/chat/completions", json=body, timeout=30
        ) as response:
            answers[(model, stream)] = {"response": response, "body": response.read()}

    clients = [threading.Thread(target=ask, args=case) for case in CASES]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 10
    while upstream.calls.get("hang", 0) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # both hang requests and both slowpoke workers are waiting upstream
    server.stop()
    for client in clients:
        client.join(10)
    assert set(answers) == set(CASES)
    for (_model, stream), answer in answers.items():
        response, body = answer["response"], answer["body"]
        if stream:
            assert response.status_code == 200
            assert body.endswith(b"\n\n") and b'"code": "shutting_down"' in body
        else:
            assert response.status_code == 503, body
            assert response.json()["error"]["code"] == "shutting_down"
        finished = run_events(response.headers["x-dispatcher-run-id"])[-1]
        assert finished.kind == "run_finished" and finished.status == "cancelled"  # type: ignore[attr-defined]
