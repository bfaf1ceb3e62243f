"""Every error out of Dispatcher.run / run_sync carries the trace path and the events so far,
and a malformed provider answer ends a run cleanly after its retries (a typed error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from reliability_harness import Provider, client, completion, error, wire_registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.errors import ConfigError, MalformedResponseError, ProviderError
from dispatcher.testing import block_real_models

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _real_adapters_over_a_mock_transport() -> Iterator[None]:
    """Real adapters are allowed here: every one of them talks to a MockTransport."""
    with block_real_models(False):
        yield


@tool
def ring() -> str:
    """Ring the bell."""
    return "ding"


CLERK = Agent(name="clerk", description="Rings bells.", tools=[ring], tier="weak")
DELEGATE = completion("", ("d1", "clerk", {"task": "ring the bell once"}))


def _check_carries_trace(exc: BaseException) -> None:
    path = getattr(exc, "trace_path", None)
    events = getattr(exc, "events", None)
    assert isinstance(path, Path) and path.is_file()
    assert events and events[0].kind == "run_started" and events[-1].kind == "run_finished"
    assert events[-1].status == "error"


async def test_a_provider_error_carries_the_trace_and_partial_events(tmp_path: Path) -> None:
    provider = Provider(small=[DELEGATE, error(400, "bad request")])
    async with client(provider) as http:
        registry = wire_registry([CLERK], http, models={"small": {"num_retries": 0}})
        with pytest.raises(ProviderError) as caught:
            await Dispatcher(registry, runs_dir=tmp_path).run("ring")
    _check_carries_trace(caught.value)
    assert any(e.kind == "model_call" for e in caught.value.events)  # type: ignore[attr-defined]


async def test_a_malformed_answer_is_retried_then_ends_the_run_with_its_trace(
    tmp_path: Path,
) -> None:
    html = httpx2.Response(200, content=b"<html>gateway</html>")
    provider = Provider(small=[DELEGATE, html, html, html])
    async with client(provider) as http:
        registry = wire_registry([CLERK], http, models={"small": {"num_retries": 2}})
        with pytest.raises(MalformedResponseError) as caught:
            await Dispatcher(registry, runs_dir=tmp_path).run("ring")
    provider.assert_drained()  # the first try and two retries
    _check_carries_trace(caught.value)
    retries = [e for e in caught.value.events if e.kind == "model_retry"]  # type: ignore[attr-defined]
    assert len(retries) == 2


def test_a_config_error_mid_run_carries_the_trace_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCHER_TEST_UNSET_KEY", raising=False)
    provider = Provider()
    http = client(provider)
    registry = wire_registry(
        [CLERK], http, models={"small": {"api_key": "os.environ/DISPATCHER_TEST_UNSET_KEY"}}
    )
    with pytest.raises(ConfigError, match="DISPATCHER_TEST_UNSET_KEY") as caught:
        Dispatcher(registry, runs_dir=tmp_path).run_sync("ring")
    _check_carries_trace(caught.value)
    assert provider.requests == []
