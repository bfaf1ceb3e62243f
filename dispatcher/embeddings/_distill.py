"""Distil a sentence encoder into one vector per word piece (the model2vec recipe).

Every word piece of the vocabulary goes through the real model as ``[CLS] piece [SEP]`` and is
pooled as the model pools; PCA then centres the table (removing the direction every piece
shares, which would otherwise dominate a sum of pieces) and keeps `dims` components. The
result is cached on disk as float16, keyed by the teacher's identity, so a new model version
builds a new table and the build (about a minute for MiniLM on one core) happens once.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from dispatcher._blas import blas_threads
from dispatcher.errors import ConfigError

__all__ = ["MiniLMTeacher", "Teacher", "distil", "load_or_build_table"]

Array = NDArray[np.float32]
# Bump when the recipe changes, so tables built by an older recipe are rebuilt.
_RECIPE = "v1"
_BATCH = 1024


class Teacher(Protocol):
    """The model being distilled: its vocabulary, tokenizer, identity and encoder."""

    @property
    def identity(self) -> str:
        """Changes whenever the model's weights or tokenizer change."""
        ...

    @property
    def tokenizer(self) -> Any:
        """A `tokenizers.Tokenizer` for the model's vocabulary."""
        ...

    def vocabulary(self) -> list[str]:
        """Word pieces in id order."""
        ...

    def encode_pieces(self, ids: NDArray[np.int64]) -> Array:
        """Pooled embedding of ``[CLS] piece [SEP]`` for each id in `ids`, shape (n, hidden)."""
        ...


def _file_identity(path: Path) -> str:
    """A fingerprint of a large file from its size and 16 spread 64 KiB samples (milliseconds,
    not the second hashing 90 MB would take on every process start)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        for i in range(16):
            handle.seek(size * i // 16)
            digest.update(handle.read(1 << 16))
    return digest.hexdigest()[:16]


class MiniLMTeacher:
    """all-MiniLM-L6-v2 as the teacher: the numpy forward pass, one BLAS thread."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self._model_dir = model_dir
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._identity = "minilm-" + _file_identity(model_dir / "model.safetensors")
        self._identity += "-" + _file_identity(model_dir / "tokenizer.json")
        self._weights: Any = None

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def vocabulary(self) -> list[str]:
        vocab: dict[str, int] = self._tokenizer.get_vocab()
        return sorted(vocab, key=vocab.__getitem__)

    def _special(self, token: str) -> int:
        found: int | None = self._tokenizer.token_to_id(token)
        if found is None:
            raise ConfigError(f"the tokenizer has no {token} token", fix="use a BERT tokenizer")
        return found

    def encode_pieces(self, ids: NDArray[np.int64]) -> Array:
        from dispatcher.embeddings import _minilm  # the forward pass is private to it

        if self._weights is None:
            self._weights = _minilm._load_weights(self._model_dir / "model.safetensors")
        batch = np.empty((len(ids), 3), dtype=np.int64)
        batch[:, 0] = self._special("[CLS]")
        batch[:, 1] = ids
        batch[:, 2] = self._special("[SEP]")
        mask = np.ones(batch.shape, dtype=np.float32)
        with blas_threads(1):
            pooled: Array = _minilm._forward(self._weights, batch, mask)
        return pooled


def distil(
    teacher: Teacher, dims: int, progress: Callable[[str], None] | None = None
) -> NDArray[np.float16]:
    """The PCA-reduced table of pooled piece embeddings, one row per vocabulary id."""
    size = len(teacher.vocabulary())
    rows: list[Array] = []
    started = time.monotonic()
    for start in range(0, size, _BATCH):
        ids = np.arange(start, min(size, start + _BATCH), dtype=np.int64)
        rows.append(teacher.encode_pieces(ids))
        if progress is not None and (len(rows) % 5 == 0 or start + _BATCH >= size):
            done = min(size, start + _BATCH)
            progress(f"{done}/{size} word pieces, {time.monotonic() - started:.0f} s")
    table = np.concatenate(rows).astype(np.float64)
    table -= table.mean(axis=0)
    dims = min(dims, table.shape[1], table.shape[0])
    # Right singular vectors of the centred table are the principal axes.
    _, _, axes = np.linalg.svd(table, full_matrices=False)
    reduced: NDArray[np.float16] = (table @ axes[:dims].T).astype(np.float16)
    return reduced


def _stderr(message: str) -> None:
    print(f"dispatcher: building the static MiniLM embedding: {message}", file=sys.stderr)


def load_or_build_table(
    teacher: Teacher, dims: int, directory: Path, *, quiet: bool = False
) -> NDArray[np.float16]:
    """The cached table for this teacher and `dims`, built and saved on first use."""
    key = hashlib.sha256(f"{_RECIPE}\0{teacher.identity}\0{dims}".encode()).hexdigest()[:20]
    path = directory / f"pieces-{dims}-{key}.npy"
    if path.is_file():
        try:
            cached: NDArray[np.float16] = np.load(path)
            return cached
        except (OSError, ValueError):
            pass  # a damaged file: build it again below
    report = None if quiet else _stderr
    if report is not None:
        report(f"once per model version, saved to {path}")
    table = distil(teacher, dims, report)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, table)
        os.replace(tmp, path)  # readers never see half a table
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return table
