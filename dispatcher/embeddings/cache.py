"""An on-disk embedding cache: vectors keyed by sha256(model name + text).

Stored as append-only numpy shards in one directory per model, so adding a batch writes
one small file instead of rewriting everything; shards are merged once there are many.
Every file is written to a temporary name and renamed, so readers never see half a shard.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from dispatcher.embeddings.base import Embedder

__all__ = ["CachedEmbedder", "default_cache_dir"]

_MAX_SHARDS = 16


def default_cache_dir() -> Path:
    """$DISPATCHER_CACHE_DIR/embeddings, else $XDG_CACHE_HOME or ~/.cache, under dispatcher/."""
    explicit = os.environ.get("DISPATCHER_CACHE_DIR")
    if explicit:
        return Path(explicit) / "embeddings"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dispatcher" / "embeddings"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


class CachedEmbedder:
    """Wraps an embedder; texts seen before (in any process) are read from disk."""

    def __init__(self, inner: Embedder, directory: str | Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self._lock = threading.Lock()
        self._memory: dict[bytes, NDArray[np.float32]] | None = None

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def _model_dir(self) -> Path:
        return self.directory / _slug(self.inner.name)

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.inner.name}\0{text}".encode()).digest()

    def _load(self) -> dict[bytes, NDArray[np.float32]]:
        if self._memory is None:
            memory: dict[bytes, NDArray[np.float32]] = {}
            for shard in sorted(self._model_dir.glob("shard-*.npz")):
                try:
                    with np.load(shard) as data:
                        keys, vectors = data["keys"], data["vectors"]
                except (FileNotFoundError, OSError, KeyError, ValueError):
                    continue  # merged away by another process, or not ours: skip it
                for key, vector in zip(keys, vectors, strict=True):
                    memory[key.tobytes()] = vector
            self._memory = memory
        return self._memory

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        keys = [self._key(t) for t in texts]
        with self._lock:
            memory = self._load()
            missing = list(dict.fromkeys(k for k in keys if k not in memory))
        if missing:
            by_key = {k: t for k, t in zip(keys, texts, strict=True)}
            vectors = self.inner.embed([by_key[k] for k in missing])
            with self._lock:
                memory = self._load()
                for key, vector in zip(missing, vectors, strict=True):
                    memory[key] = vector
                self._write_shard(missing, vectors)
        out = np.zeros((len(texts), self.inner.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = memory[key]
        return out

    def _write_shard(self, keys: Sequence[bytes], vectors: NDArray[np.float32]) -> None:
        directory = self._model_dir
        directory.mkdir(parents=True, exist_ok=True)
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
        _atomic_savez(directory / f"shard-{uuid.uuid4().hex}.npz", key_array, vectors)
        shards = sorted(directory.glob("shard-*.npz"))
        if len(shards) > _MAX_SHARDS:
            self._merge(directory, shards)

    def _merge(self, directory: Path, shards: list[Path]) -> None:
        memory = self._load()
        keys = np.frombuffer(b"".join(memory), dtype=np.uint8).reshape(len(memory), 32)
        vectors = np.stack(list(memory.values())).astype(np.float32, copy=False)
        _atomic_savez(directory / f"shard-{uuid.uuid4().hex}.npz", keys, vectors)
        # Remove only the shards merged here; a shard another process adds meanwhile stays.
        for shard in shards:
            shard.unlink(missing_ok=True)


def _atomic_savez(path: Path, keys: NDArray[np.uint8], vectors: NDArray[np.float32]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, keys=keys, vectors=vectors)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
