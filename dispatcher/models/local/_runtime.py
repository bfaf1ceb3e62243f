"""llama-cpp-python in this process: load a GGUF file once, generate with counted tokens.

Blocking code, run in a worker thread by `LocalModel`. One loaded model serves every registry
entry that names the same file and context size; a lock serializes generation on it (a llama.cpp
context is not thread-safe) and keeps its KV cache, so a turn that extends the previous prompt
only evaluates the new tokens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatcher.errors import ConfigError, ContextOverflowError
from dispatcher.models.local._prompt import PromptPiece

__all__ = ["Generation", "LoadedModel", "load_model"]

INSTALL_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON '
    '-DGGML_BMI2=ON -DLLAVA_BUILD=OFF" pip install --no-cache-dir -e ".[local]" '
    "(from the dispatcher repository root); see docs/local-model.md"
)

_cache: dict[tuple[str, int, int | None], LoadedModel] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Generation:
    """One completion with the runtime's own token counts and timings."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    finish_reason: str
    ttft_ms: float | None
    latency_ms: float


class LoadedModel:
    """A loaded GGUF model; `generate` is blocking and thread-safe."""

    def __init__(self, llama: Any, path: Path) -> None:
        self._llama = llama
        self.path = path
        self.n_ctx = int(llama.n_ctx())
        self._lock = threading.Lock()
        self._grammar_ok: dict[str, bool] = {}

    def grammar_parses(self, grammar: str) -> bool:
        """Whether llama.cpp accepts `grammar`: handing it one it rejects crashes the process
        (llama-cpp-python adds the NULL sampler to its chain), so every grammar is tried here
        first, on its own."""
        known = self._grammar_ok.get(grammar)
        if known is not None:
            return known
        import llama_cpp

        with self._lock:
            # `_model.vocab`: the vocabulary handle llama-cpp-python itself passes to this call.
            sampler = llama_cpp.llama_sampler_init_grammar(
                self._llama._model.vocab, grammar.encode("utf-8"), b"root"
            )
            if sampler:
                llama_cpp.llama_sampler_free(sampler)
        self._grammar_ok[grammar] = bool(sampler)
        return bool(sampler)

    def tokenize(self, pieces: Sequence[PromptPiece]) -> list[int]:
        """Markup may hold special tokens; message text never does (no turn injection)."""
        tokens: list[int] = []
        for piece in pieces:
            encoded = piece.text.encode("utf-8")
            tokens += [int(t) for t in self._llama.tokenize(encoded, False, piece.markup)]
        return tokens

    def generate(
        self,
        pieces: Sequence[PromptPiece],
        *,
        grammar: str | None,
        max_tokens: int,
        temperature: float,
        seed: int,
        repeat_penalty: float,
    ) -> Generation:
        from llama_cpp import LlamaGrammar, StoppingCriteriaList

        started = time.perf_counter()
        first_token: list[float] = []

        def note_first_token(_ids: Any, _logits: Any) -> bool:
            if not first_token:
                first_token.append(time.perf_counter())
            return False

        with self._lock:
            tokens = self.tokenize(pieces)
            if len(tokens) + 1 >= self.n_ctx:
                raise ContextOverflowError(
                    f"the prompt has {len(tokens)} tokens; the context window is {self.n_ctx} "
                    "(raise n_ctx in litellm_params, up to the model's trained length)",
                    model=self.path.name,
                )
            cached = _common_prefix(self._llama.eval_tokens, tokens)
            result = self._llama.create_completion(
                tokens,
                max_tokens=min(max_tokens, self.n_ctx - len(tokens) - 1),
                temperature=temperature,
                seed=seed,
                repeat_penalty=repeat_penalty,
                grammar=LlamaGrammar.from_string(grammar, verbose=False) if grammar else None,
                stopping_criteria=StoppingCriteriaList([note_first_token]),
            )
        finished = time.perf_counter()
        choice = result["choices"][0]
        usage = result["usage"]
        return Generation(
            text=str(choice["text"]),
            prompt_tokens=int(usage["prompt_tokens"]),
            completion_tokens=int(usage["completion_tokens"]),
            # generate() re-evaluates the last prompt token even on a full prefix match.
            cached_tokens=min(cached, len(tokens) - 1),
            finish_reason=str(choice["finish_reason"] or "stop"),
            ttft_ms=(first_token[0] - started) * 1000.0 if first_token else None,
            latency_ms=(finished - started) * 1000.0,
        )


def _common_prefix(evaluated: Sequence[int], tokens: Sequence[int]) -> int:
    count = 0
    for a, b in zip(evaluated, tokens, strict=False):
        if a != b:
            break
        count += 1
    return count


def load_model(path: Path, *, n_ctx: int, n_threads: int | None) -> LoadedModel:
    """The loaded model for this file and context size, loading it on first use."""
    key = (str(path.resolve()), n_ctx, n_threads)
    with _cache_lock:
        loaded = _cache.get(key)
        if loaded is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigError(
                    "local models need llama-cpp-python, which is not installed",
                    fix=INSTALL_HINT,
                ) from None
            llama = Llama(
                str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False, logits_all=False
            )
            loaded = LoadedModel(llama, path)
            _cache[key] = loaded
        return loaded
