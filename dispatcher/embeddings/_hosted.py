"""Optional embedders: sentence-transformers (local, needs torch) and OpenAI's embeddings API."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dispatcher.errors import ConfigError

__all__ = ["OpenAIEmbedder", "SentenceTransformersEmbedder"]

_OPENAI_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


def _normalise(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    unit: NDArray[np.float32] = (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return unit


class SentenceTransformersEmbedder:
    """Any sentence-transformers model by name or path; imported and loaded on first use."""

    def __init__(self, model: str, *, dim: int | None = None, device: str = "cpu") -> None:
        self.name = f"sentence-transformers/{model}"
        self._model_name = model
        self._device = device
        self._model: Any = None
        self._lock = threading.Lock()
        self.dim = dim or 0

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise ConfigError(
                        "the sentence-transformers embedder needs sentence-transformers",
                        fix="pip install sentence-transformers, or use the default 'minilm' "
                        "embedder, which needs no torch",
                    ) from exc
                self._model = SentenceTransformer(self._model_name, device=self._device)
                self.dim = int(self._model.get_sentence_embedding_dimension())
        return self._model

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = np.asarray(model.encode(list(texts), normalize_embeddings=True), np.float32)
        return _normalise(rows)


class OpenAIEmbedder:
    """OpenAI's embeddings endpoint (or a compatible server via `base_url`), in batches.

    The client is built on first use; the key comes from the environment as the SDK reads it.
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        dimensions: int | None = None,
        base_url: str | None = None,
        batch_size: int = 256,
        client: Any = None,
    ) -> None:
        self.name = f"openai/{model}" + (f"/{dimensions}" if dimensions else "")
        self.dim = dimensions or _OPENAI_DIMS.get(model, 0)
        self._model = model
        self._dimensions = dimensions
        self._base_url = base_url
        self._batch_size = batch_size
        self._client = client
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                # Embedding calls do not go through the model retry layer, so let the SDK retry.
                self._client = openai.OpenAI(base_url=self._base_url, max_retries=2)
        return self._client

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        client = self._get_client()
        extra: dict[str, Any] = {"dimensions": self._dimensions} if self._dimensions else {}
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            response = client.embeddings.create(model=self._model, input=batch, **extra)
            ordered = sorted(response.data, key=lambda item: item.index)
            rows.extend(list(item.embedding) for item in ordered)
        matrix = np.asarray(rows, dtype=np.float32)
        self.dim = int(matrix.shape[1])
        return _normalise(matrix)
