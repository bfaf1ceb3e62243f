"""Clients that are slow or leave while sending: bounded, and quiet."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from gateway_config import Gateway

from dispatcher.gateway import _app

BODY = json.dumps({"model": "echo", "messages": [{"role": "user", "content": "hi"}]}).encode()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _head(length: int) -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n"
    )


def test_a_body_that_never_arrives_whole_is_408(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slowloris client holds a connection only until the body deadline."""
    monkeypatch.setattr(_app, "BODY_TIMEOUT_S", 0.5)
    url, _ = gateway()
    with _connect(url) as client:
        client.sendall(_head(len(BODY)) + BODY[:5])  # the rest never comes
        started = time.monotonic()
        answer = client.recv(4096)
    assert time.monotonic() - started < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout" and "0.5 s" in error["message"]


def test_a_client_leaving_mid_body_leaves_no_error_in_the_log(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = gateway()
    with caplog.at_level(logging.WARNING), _connect(url) as client:
        client.sendall(_head(len(BODY)) + BODY[:5])
        time.sleep(0.2)
    time.sleep(0.5)  # the gateway notices the disconnect
    assert [r for r in caplog.records if r.name.startswith("dispatcher")] == []
