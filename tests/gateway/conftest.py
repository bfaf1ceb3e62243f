"""A fake upstream and the gateway in front of it, both on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fake_upstream import FakeUpstream, ServerThread
from gateway_config import Gateway, write_config

from dispatcher.gateway import create_app
from dispatcher.models._guard import block_real_models


@pytest.fixture(autouse=True)
def _loopback_models_allowed() -> Iterator[None]:
    """The suite blocks real model calls; these tests only reach servers on 127.0.0.1."""
    with block_real_models(False):
        yield


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    server = ServerThread(fake.app).start()
    fake.base_url = server.base_url  # type: ignore[attr-defined]
    yield fake
    server.stop()


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Gateway]:
    """Start a gateway for a config (with `dispatcher:` overrides); returns its URL and a client."""
    servers: list[ServerThread] = []

    def start(dispatcher: dict[str, Any] | None = None, api_key: str = "unused") -> Any:
        config = write_config(tmp_path, upstream.base_url, dispatcher)  # type: ignore[attr-defined]
        server = ServerThread(create_app(config)).start()
        servers.append(server)
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=api_key, max_retries=0)
        return server.base_url, client

    yield start
    for server in servers:
        server.stop()
