"""Shared fixtures: anyio on asyncio, and no real model call can leave the test suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dispatcher.testing import block_real_models

# Every event is validated on the way out too, so a field of the wrong type fails the test that
# wrote it (runs that trace only to their file otherwise validate when the trace is read).
os.environ["DISPATCHER_VALIDATE_EVENTS"] = "1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_real_model_calls() -> Iterator[None]:
    with block_real_models():
        yield


@pytest.fixture(autouse=True)
def _runs_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Traces of tests go to a temporary folder, never into the checkout.
    monkeypatch.setenv("DISPATCHER_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
