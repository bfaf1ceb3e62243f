"""Embedders: the numpy MiniLM matches sentence-transformers; hashing and the cache behave."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from dispatcher.embeddings import build_embedder
from dispatcher.embeddings._hashing import HashingEmbedder
from dispatcher.embeddings._minilm import MiniLMEmbedder
from dispatcher.embeddings.cache import CachedEmbedder
from dispatcher.errors import ConfigError

# First five dimensions of sentence-transformers' all-MiniLM-L6-v2 (torch) embedding of
# "A man is eating food.", normalised; recorded once with sentence-transformers 6.2.
REFERENCE = [0.03324156, 0.00440608, -0.00627702, 0.04837874, -0.13870224]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder(max_tokens=128)


def test_minilm_matches_sentence_transformers(minilm: MiniLMEmbedder) -> None:
    vectors = minilm.embed(["A man is eating food.", "Some other sentence, longer than that one."])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
    assert vectors[0, :5] == pytest.approx(REFERENCE, abs=1e-5)


def test_minilm_similar_sentences_score_higher(minilm: MiniLMEmbedder) -> None:
    v = minilm.embed(
        [
            "How do I reset my password?",
            "I forgot my login credentials and can't sign in.",
            "What is the boiling point of water at sea level?",
            "Which genres sold the most tracks in 2012?",
            "Show the best-selling music categories for the year 2012.",
        ]
    )
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] and sim[0, 1] > sim[0, 3]
    assert sim[3, 4] > sim[3, 0] and sim[3, 4] > sim[3, 2]


def test_minilm_batch_equals_one_by_one(minilm: MiniLMEmbedder) -> None:
    texts = ["short", "a somewhat longer sentence with more tokens in it", "mid length text"]
    batch = minilm.embed(texts)
    single = np.vstack([minilm.embed([t]) for t in texts])
    assert batch == pytest.approx(single, abs=1e-5)


def test_minilm_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        MiniLMEmbedder(max_tokens=4)
    with pytest.raises(ConfigError, match="model file missing"):
        MiniLMEmbedder(tmp_path).embed(["x"])


def test_hashing_is_deterministic_and_normalised() -> None:
    a, b = HashingEmbedder(64), HashingEmbedder(64)
    va, vb = a.embed(["hello world", ""]), b.embed(["hello world", ""])
    assert np.array_equal(va, vb)
    assert np.linalg.norm(va[0]) == pytest.approx(1.0)
    assert not va[1].any()


class CountingEmbedder:
    def __init__(self) -> None:
        self.inner = HashingEmbedder(32)
        self.name, self.dim = "counting", 32
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.seen.extend(texts)
        return self.inner.embed(texts)


def test_cache_serves_repeats_from_disk_across_instances(tmp_path: Path) -> None:
    first = CountingEmbedder()
    cached = CachedEmbedder(first, tmp_path)
    out1 = cached.embed(["a", "b", "a"])
    assert first.seen == ["a", "b"]
    second = CountingEmbedder()
    out2 = CachedEmbedder(second, tmp_path).embed(["b", "a", "c"])
    assert second.seen == ["c"]
    assert np.array_equal(out2[0], out1[1]) and np.array_equal(out2[1], out1[0])
    assert not list(tmp_path.rglob(".tmp-*"))


def test_cache_merges_many_shards(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path)
    for i in range(20):
        cached.embed([f"text {i}"])
    assert len(list(tmp_path.rglob("shard-*.npz"))) <= 17
    fresh = CountingEmbedder()
    CachedEmbedder(fresh, tmp_path).embed([f"text {i}" for i in range(20)])
    assert fresh.seen == []


def test_build_embedder_specs(tmp_path: Path) -> None:
    assert build_embedder("hashing:64").dim == 64
    minilm = build_embedder("minilm:128")
    assert isinstance(minilm, MiniLMEmbedder) and minilm.max_tokens == 128
    assert isinstance(build_embedder("hashing", cache_dir=tmp_path), CachedEmbedder)
    with pytest.raises(ConfigError, match="unknown embedder 'bert'"):
        build_embedder("bert")
