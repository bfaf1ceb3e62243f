"""Fixtures for router tests: small synthetic preference data and a fast embedder."""

from __future__ import annotations

import pytest
from routing_data import synthetic_records

from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.preferences import PreferenceDataset


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder(dim=128)


@pytest.fixture
def dataset() -> PreferenceDataset:
    return PreferenceDataset(tuple(synthetic_records(800)), "synthetic")
