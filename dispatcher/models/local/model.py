"""`LocalModel`: a GGUF model run in this process by llama-cpp-python, behind the Model seam.

Why in-process rather than llama-cpp-python's OpenAI-compatible server: no port, no child
process to start and reap, no HTTP extras (fastapi, uvicorn) to install, and the five problems
its server has with tools (HTTP 500 on `tool_choice="required"`, on a `json_schema`
response_format and on `content: null`; tool results dropped from the prompt; replayed
arguments HTML-escaped; an empty stream with tools) cannot occur: we write the prompt
ourselves (`_prompt`) and constrain decoding with our own grammar (`_grammar`).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import anyio.to_thread

from dispatcher.messages import FinishReason, ModelRequest, ModelResponse, ToolCall
from dispatcher.models._guard import check_real_request_allowed
from dispatcher.models.local._decode import DecodeSettings, decode
from dispatcher.models.local._runtime import LoadedModel, load_model
from dispatcher.models.local._weights import resolve_weights

__all__ = ["LocalModel"]

_CALL_IDS = itertools.count(1)


class LocalModel:
    """A local GGUF model (default: the bundled SmolLM2-135M-Instruct). Loads on first request.

    Args:
        model_id: ``smollm2`` (the bundled model) or a path to a ``.gguf`` file.
        n_ctx: context window in tokens (SmolLM2 was trained on 8192).
        n_threads: CPU threads for inference (None: llama.cpp's default).
        temperature: used when the request sets none; 0 decodes greedily (reproducible).
        seed: sampling seed, for temperatures above 0.
        repeat_penalty: llama.cpp's penalty on the last 64 tokens; greedy decoding of a 135M
            model otherwise runs into strings like "jazz_jazz_jazz..." until the token limit.
        max_output_tokens: output limit when the request sets none.
        constrained: decode tool calls and JSON answers under a grammar built from their JSON
            Schema, so every call parses and fits its tool's schema (turn off to measure
            what the model does on its own).
    """

    def __init__(
        self,
        model_id: str = "smollm2",
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        repeat_penalty: float = 1.1,
        max_output_tokens: int = 512,
        constrained: bool = True,
    ) -> None:
        self.model_id = model_id
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._temperature = temperature
        self._seed = seed
        self._repeat_penalty = repeat_penalty
        self._max_output_tokens = max_output_tokens
        self._constrained = constrained
        self._loaded: LoadedModel | None = None

    def __repr__(self) -> str:
        return f"LocalModel({self.model_id!r}, constrained={self._constrained})"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Generate one reply in a worker thread; usage is the runtime's own token count."""
        check_real_request_allowed(self.model_id)
        loaded = self._loaded
        if loaded is None:
            path = resolve_weights(self.model_id)
            loaded = await anyio.to_thread.run_sync(self._load, path)
        settings = DecodeSettings(
            constrained=self._constrained,
            max_tokens=request.max_output_tokens or self._max_output_tokens,
            temperature=self._temperature if request.temperature is None else request.temperature,
            seed=self._seed,
            repeat_penalty=self._repeat_penalty,
        )
        decoded = await anyio.to_thread.run_sync(decode, loaded, request, settings, _new_call_id)
        return ModelResponse(
            text=decoded.text,
            tool_calls=decoded.tool_calls,
            usage=decoded.usage,
            finish_reason=_finish_reason(decoded.truncated, decoded.tool_calls),
            model=loaded.path.stem,
            latency_ms=decoded.latency_ms,
            ttft_ms=decoded.ttft_ms,
        )

    def _load(self, path: Path) -> LoadedModel:
        self._loaded = load_model(path, n_ctx=self._n_ctx, n_threads=self._n_threads)
        return self._loaded


def _new_call_id() -> str:
    return f"call_local_{next(_CALL_IDS)}"


def _finish_reason(truncated: bool, calls: tuple[ToolCall, ...]) -> FinishReason:
    if truncated:
        return "length"
    return "tool_calls" if calls else "stop"
