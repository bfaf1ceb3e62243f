"""A fake upstream and the gateway in front of it, both on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from fake_upstream import FakeUpstream, ServerThread

from dispatcher.gateway import create_app
from dispatcher.models._guard import block_real_models

HELPER = """---
name: helper
description: Answers any question.
tier: weak
---
You answer questions.
"""

SLOWPOKE = """---
name: slowpoke
description: Takes forever.
model: hang
---
You never finish.
"""

CLIENT_KEY = "gw-client-key-0123456789"


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


def write_config(
    folder: Path, upstream_url: str, dispatcher: dict[str, Any] | None = None
) -> Path:
    """A registry whose models all live on the fake upstream."""
    base = f"{upstream_url}/v1"

    def model(name: str, provider_model: str) -> dict[str, Any]:
        params = {"model": provider_model, "api_base": base, "num_retries": 0}
        return {"model_name": name, "litellm_params": params}

    (folder / "helper.md").write_text(HELPER)
    (folder / "slowpoke.md").write_text(SLOWPOKE)
    config = {
        "model_list": [
            model("brain", "openai/dispatcher-brain"),
            model("echo", "openai/echo"),
            model("tools", "openai/tools"),
            model("hang", "openai/hang"),
            *(model(f"s{code}", f"openai/status-{code}") for code in (400, 401, 429, 500, 503)),
            {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-x"}},
        ],
        "dispatcher": {
            "tiers": {"weak": "brain", "strong": "brain"},
            "dispatcher_model": "brain",
            "prices": {"brain": {"input": 1.0, "output": 2.0}},
            "agents": ["helper.md", "slowpoke.md"],
            **(dispatcher or {}),
        },
    }
    path = folder / "dispatcher.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


Gateway = Callable[..., tuple[str, openai.OpenAI]]


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
