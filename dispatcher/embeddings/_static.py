"""`minilm-static`: all-MiniLM-L6-v2 distilled into a static word-piece embedding.

A query is tokenised with MiniLM's own tokenizer; its vector is the weighted sum of its
pieces' rows (from `_distill`), L2-normalised: tens of microseconds instead of MiniLM's
tens of milliseconds, at some cost in quality (word order and context are lost).

Weights follow SIF: ``a / (a + p(piece))``, so frequent pieces ("the", "?") count little.
No frequency table ships with the model, so p comes from Zipf's law over an estimated
rank: BERT's vocabulary lists whole words and ``##`` pieces roughly by corpus frequency
after its single characters, so the rank is the position among those; ASCII single
characters (punctuation, digits, letters) are taken as very frequent and other single
characters as rare. Special tokens get weight 0.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dispatcher.embeddings._distill import MiniLMTeacher, Teacher, load_or_build_table
from dispatcher.errors import ConfigError

__all__ = ["StaticEmbedder", "piece_weights"]

_SPECIAL = re.compile(r"^\[[A-Za-z0-9_]+\]$")
Array = NDArray[np.float32]


def piece_weights(vocabulary: Sequence[str], sif: float) -> Array:
    """SIF weight per piece from a Zipf frequency over the estimated rank (see the module doc).

    ``sif <= 0`` turns weighting off: every regular piece weighs 1.
    """
    ranks = np.zeros(len(vocabulary), dtype=np.float64)
    special = np.zeros(len(vocabulary), dtype=bool)
    next_rank = 0
    rare: list[int] = []
    for index, piece in enumerate(vocabulary):
        if _SPECIAL.match(piece):
            special[index] = True
        elif len(piece) == 1:
            if piece.isascii():
                ranks[index] = 0.0
            else:
                rare.append(index)
        else:
            ranks[index] = float(next_rank)
            next_rank += 1
    ranks[rare] = float(next_rank)
    if sif <= 0:
        weights = np.ones(len(vocabulary), dtype=np.float64)
    else:
        zipf = 1.0 / (ranks + 1.0)
        probability = zipf / zipf[~special].sum()
        weights = sif / (sif + probability)
    weights[special] = 0.0
    return weights.astype(np.float32)


class StaticEmbedder:
    """Weighted mean of distilled MiniLM word-piece vectors; `dims` wide (PCA).

    The table is built on first use (about a minute, with a progress message on stderr)
    and cached under `cache_dir` (default: the embedding cache's folder). Texts are cut at
    `max_tokens` word pieces. Thread-safe after loading: `embed` only reads the table.
    `teacher` replaces MiniLM as the distilled model (tests use a tiny fake).
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        dims: int = 256,
        sif: float = 1e-4,
        max_tokens: int = 128,
        cache_dir: str | Path | None = None,
        teacher: Teacher | None = None,
    ) -> None:
        if not 8 <= dims <= 384:
            raise ConfigError(
                f"dims must be between 8 and 384, got {dims}", fix="use 256 (the default)"
            )
        if max_tokens < 1:
            raise ConfigError(f"max_tokens must be positive, got {max_tokens}", fix="use 128")
        self.dim = dims
        self.sif = float(sif)
        self.max_tokens = max_tokens
        self.name = f"minilm-static/{dims}/sif{self.sif:g}/max{max_tokens}"
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._teacher = teacher
        self._lock = threading.Lock()
        self._loaded: tuple[Array, Any] | None = None

    def _make_teacher(self) -> Teacher:
        from dispatcher.embeddings._minilm import _INSTALL_FIX, default_model_dir

        try:
            import tokenizers  # noqa: F401  (checked here for a clear error)
        except ImportError as exc:
            raise ConfigError("tokenizers is not installed", fix=_INSTALL_FIX) from exc
        model_dir = self._model_dir or default_model_dir()
        for needed in ("model.safetensors", "tokenizer.json"):
            if not (model_dir / needed).is_file():
                raise ConfigError(
                    f"MiniLM model file missing: {model_dir / needed}",
                    fix=f"point model_dir at an all-MiniLM-L6-v2 export; {_INSTALL_FIX}",
                )
        return MiniLMTeacher(model_dir)

    def _load(self) -> tuple[Array, Any]:
        if self._loaded is not None:
            return self._loaded
        with self._lock:
            if self._loaded is None:
                from dispatcher.embeddings.cache import default_cache_dir

                teacher = self._teacher or self._make_teacher()
                directory = self._cache_dir or default_cache_dir() / "minilm-static"
                table = load_or_build_table(teacher, self.dim, directory).astype(np.float32)
                weights = piece_weights(teacher.vocabulary(), self.sif)
                self.dim = int(table.shape[1])
                tokenizer = teacher.tokenizer
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=self.max_tokens)
                # Pre-weighted rows: a query is then one gather and one sum.
                self._loaded = (np.ascontiguousarray(table * weights[:, None]), tokenizer)
        return self._loaded

    def embed(self, texts: Sequence[str]) -> Array:
        """Embed texts; rows are L2-normalised (all zero for a text with no word pieces)."""
        table, tokenizer = self._load()
        out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
        if not texts:
            return out
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for row, encoding in enumerate(encodings):
            if encoding.ids:
                out[row] = table[encoding.ids].sum(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        return out
