"""Whether the real local model can run here; CI requires it (DISPATCHER_REQUIRE_LOCAL_MODEL=1).

Without llama-cpp-python or the weights, real-model tests are skipped with the install
command, except where DISPATCHER_REQUIRE_LOCAL_MODEL=1 (.ci/run sets it): there a missing runtime
fails them, so the real-model tests never go unrun in CI.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from dispatcher.errors import ConfigError
from dispatcher.models.local._weights import resolve_weights

REQUIRE_ENV = "DISPATCHER_REQUIRE_LOCAL_MODEL"


def local_runtime_missing() -> str | None:
    """Why the real model cannot run here, or None."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (see docs/local-model.md)"
    try:
        resolve_weights("smollm2")
    except ConfigError as exc:
        return f"{exc.reason} ({exc.fix})"
    return None


def require_local_runtime() -> None:
    missing = local_runtime_missing()
    if missing is None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but the local model cannot run: {missing}")
    pytest.skip(missing)
