"""Sentence embeddings for semantic and predictive routing.

The default, `minilm`, runs all-MiniLM-L6-v2 in numpy (no torch). `minilm-static` is MiniLM
distilled into one vector per word piece (built once, cached on disk): well under a
millisecond per query, lower quality; the semantic router uses it as a fast first pass.
`hashing` is a tiny deterministic stand-in for tests. `sentence-transformers:<model>` and
`openai:<model>` are optional backends imported only when used. `CachedEmbedder` keeps
vectors on disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dispatcher.embeddings.base import Embedder
from dispatcher.errors import ConfigError

__all__ = ["Embedder", "build_embedder"]

_SPEC_FIX = (
    "use 'minilm', 'minilm:128' (token limit), 'minilm-static', 'minilm-static:<dims>', "
    "'hashing', 'hashing:<dim>', "
    "'sentence-transformers:<model>' or 'openai:<model>'"
)


def build_embedder(
    spec: str | Mapping[str, Any] = "minilm",
    *,
    cache_dir: str | Path | None = None,
    cache: bool = False,
) -> Embedder:
    """Build an embedder from a spec such as ``"minilm"`` or ``"openai:text-embedding-3-small"``.

    A mapping form ``{"type": "minilm", "max_tokens": 128}`` is accepted too. With `cache`
    (or a `cache_dir`) vectors are kept on disk, keyed by model and text.
    """
    if isinstance(spec, Mapping):
        options = dict(spec)
        kind = str(options.pop("type", "minilm"))
        argument = options.pop("model", None)
    else:
        kind, _, raw = spec.partition(":")
        argument = raw or None
        options = {}
    embedder = _make(kind.strip().lower(), argument, options)
    if cache or cache_dir is not None:
        from dispatcher.embeddings.cache import CachedEmbedder

        return CachedEmbedder(embedder, cache_dir)
    return embedder


def _make(kind: str, argument: Any, options: dict[str, Any]) -> Embedder:
    try:
        if kind == "minilm":
            from dispatcher.embeddings._minilm import MiniLMEmbedder

            if argument is not None:
                options.setdefault("max_tokens", int(argument))
            return MiniLMEmbedder(**options)
        if kind == "minilm-static":
            from dispatcher.embeddings._static import StaticEmbedder

            if argument is not None:
                options.setdefault("dims", int(argument))
            return StaticEmbedder(**options)
        if kind == "hashing":
            from dispatcher.embeddings._hashing import HashingEmbedder

            return HashingEmbedder(int(argument) if argument else int(options.get("dim", 256)))
        if kind in ("sentence-transformers", "st"):
            from dispatcher.embeddings._hosted import SentenceTransformersEmbedder

            if not argument:
                raise ConfigError("sentence-transformers embedder needs a model", fix=_SPEC_FIX)
            return SentenceTransformersEmbedder(str(argument), **options)
        if kind == "openai":
            from dispatcher.embeddings._hosted import OpenAIEmbedder

            return OpenAIEmbedder(str(argument or "text-embedding-3-small"), **options)
    except ImportError as exc:
        raise ConfigError(
            f"embedder {kind!r} needs numpy ({exc.name} is missing)",
            fix='pip install -e ".[embeddings]" (from the dispatcher repository root)',
        ) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad options for embedder {kind!r}: {exc}", fix=_SPEC_FIX) from exc
    raise ConfigError(f"unknown embedder {kind!r}", fix=_SPEC_FIX)
