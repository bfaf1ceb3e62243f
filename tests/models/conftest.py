"""Fixtures for the model adapter and retry tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from wire_server import WireServer, running_wire_server

from dispatcher.models._guard import block_real_models
from dispatcher.trace.sink import MemoryTraceSink
from dispatcher.trace.tracer import Tracer, use_tracer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_real_model_calls() -> Iterator[None]:
    """Overrides the suite-wide block: these adapters only reach MockTransport or 127.0.0.1."""
    with block_real_models(False):
        yield


@pytest.fixture
async def trace_sink() -> AsyncIterator[MemoryTraceSink]:
    """Events emitted during the (async) test land in this sink."""
    sink = MemoryTraceSink()
    with use_tracer(Tracer("run-test", [sink]), "s0"):
        yield sink


@pytest.fixture
def wire_server() -> Iterator[WireServer]:
    with running_wire_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys or base URLs from the developer's shell must not change what the adapters send."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_PROFILE",
        "ANTHROPIC_CONFIG_DIR",
        "ANTHROPIC_IDENTITY_TOKEN",
        "ANTHROPIC_IDENTITY_TOKEN_FILE",
        "ANTHROPIC_FEDERATION_RULE_ID",
        "ANTHROPIC_ORGANIZATION_ID",
        "ANTHROPIC_CUSTOM_HEADERS",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
    ):
        monkeypatch.delenv(name, raising=False)
