"""The real local model for tests/local: SmolLM2-135M-Instruct in-process, loaded once.

Tests that need the runtime take the `smollm2` fixture (or call `require_local_runtime`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_runtime import require_local_runtime

from dispatcher.models._guard import block_real_models
from dispatcher.models.local import LocalModel


@pytest.fixture(autouse=True)
def _no_real_model_calls() -> Iterator[None]:
    """Overrides the suite-wide block: the local model never leaves this process."""
    with block_real_models(False):
        yield


@pytest.fixture(scope="session")
def smollm2() -> LocalModel:
    """The bundled model with default settings (greedy decoding, constrained calls)."""
    require_local_runtime()
    return LocalModel("smollm2", n_ctx=4096)


@pytest.fixture(scope="session")
def smollm2_free() -> LocalModel:
    """The same model decoding without grammar."""
    require_local_runtime()
    return LocalModel("smollm2", n_ctx=4096, constrained=False)
