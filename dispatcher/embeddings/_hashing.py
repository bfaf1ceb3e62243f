"""A tiny deterministic embedder from hashed words and word pairs.

No model files and no randomness between processes, so tests and quick experiments can
use it; it captures word overlap, not meaning.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

__all__ = ["HashingEmbedder"]

_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1 << 16)
def _bucket(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    # One bit picks the sign so colliding tokens tend to cancel instead of pile up.
    return value % dim, 1.0 if (value >> 63) & 1 else -1.0


class HashingEmbedder:
    """Signed feature hashing of lower-cased words (weight 1) and adjacent word pairs (0.5)."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing/{dim}"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            if not words:
                continue
            tokens = [_bucket(w, self.dim) for w in words]
            tokens += [_bucket(f"{a} {b}", self.dim) for a, b in pairwise(words)]
            indices = [index for index, _ in tokens]
            weights = [sign if i < len(words) else 0.5 * sign for i, (_, sign) in enumerate(tokens)]
            out[row] = np.bincount(indices, weights=weights, minlength=self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: NDArray[np.float32] = out / np.maximum(norms, 1e-12)
        return unit
