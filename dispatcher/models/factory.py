"""Build a model adapter from a LiteLLM-style `provider/model` string, api_base and api_key.

    anthropic/<model>            -> AnthropicModel (api_base optional: a gateway)
    openai/<model>               -> OpenAIModel (api_base optional: any compatible server)
    ollama/, ollama_chat/, hosted_vllm/, vllm/, llamacpp/, lm_studio/, openai_compatible/
                                 -> OpenAIModel against api_base (required)
    local/<smollm2 | path.gguf>  -> LocalModel, in this process (the `local` extra; no server)

Only the adapter is built: wrap it in RetryingModel / FallbackModel to add retries.
LiteLLM spellings of adapter options are accepted (timeout, stream_timeout, max_tokens,
extra_headers); LiteLLM router keys (rpm, tpm, num_retries, ...) are not the adapter's business
and are ignored here.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dispatcher._did_you_mean import did_you_mean
from dispatcher.errors import ConfigError
from dispatcher.models.anthropic import AnthropicModel
from dispatcher.models.base import Model
from dispatcher.models.openai import OpenAIModel

__all__ = ["KNOWN_PREFIXES", "build_model", "check_model_options"]

_OPENAI_COMPATIBLE = (
    "ollama",
    "ollama_chat",
    "hosted_vllm",
    "vllm",
    "llamacpp",
    "lm_studio",
    "openai_compatible",
)
KNOWN_PREFIXES = ("anthropic", "openai", *_OPENAI_COMPATIBLE, "local")
_LOCAL = "local/"
_OLLAMA = ("ollama", "ollama_chat")
_LITELLM_ALIASES = {
    "timeout": "timeout_s",
    "stream_timeout": "stream_idle_timeout_s",
    "max_tokens": "max_output_tokens",
    "extra_headers": "default_headers",
}
# Options whose value must be a number > 0, with an example for the fix.
_POSITIVE_NUMBERS = {"timeout_s": 60, "stream_idle_timeout_s": 30, "max_output_tokens": 4096}
# Router and rate-limit settings: read by whoever builds RetryPolicy / FallbackModel, if anyone.
_ROUTER_KEYS = frozenset(
    {"rpm", "tpm", "max_parallel_requests", "weight", "order", "max_retries", "num_retries", "tags"}
)


def build_model(
    provider_model: str, *, api_key: str | None, api_base: str | None, **options: Any
) -> Model:
    """The adapter for `provider_model` (e.g. ``anthropic/claude-sonnet-4-5``).

    `options` go to the adapter's constructor (timeout_s, stream, stream_idle_timeout_s,
    http_client, max_output_tokens for Anthropic, default_headers).
    """
    if provider_model.startswith(_LOCAL):
        return _local_model(provider_model, api_key=api_key, api_base=api_base, options=options)
    adapter, api_base, options = _checked(provider_model, api_base, options)
    return adapter(_model_id(provider_model), api_key=api_key, base_url=api_base, **options)


def check_model_options(provider_model: str, *, api_base: str | None, **options: Any) -> None:
    """Raise the ConfigError `build_model` would, without building anything (config load)."""
    if provider_model.startswith(_LOCAL):
        _local_model(provider_model, api_key=None, api_base=api_base, options=options)
        return
    _checked(provider_model, api_base, options)


def _model_id(provider_model: str) -> str:
    return provider_model.partition("/")[2]


def _checked(
    provider_model: str, api_base: str | None, options: dict[str, Any]
) -> tuple[type[AnthropicModel] | type[OpenAIModel], str | None, dict[str, Any]]:
    prefix, sep, model_id = provider_model.partition("/")
    known = ", ".join(f"{p}/" for p in KNOWN_PREFIXES)
    if not sep or not model_id or not prefix:
        raise ConfigError(
            f"model {provider_model!r} has no provider prefix",
            field="litellm_params.model",
            fix=f"write it as <provider>/<model>, with provider one of: {known}",
        )
    if prefix not in KNOWN_PREFIXES:
        raise ConfigError(
            f"unknown provider prefix {prefix + '/'!r} in model {provider_model!r}",
            field="litellm_params.model",
            fix=did_you_mean(prefix, KNOWN_PREFIXES) + f"use one of: {known}",
        )
    adapter: type[AnthropicModel] | type[OpenAIModel]
    adapter = AnthropicModel if prefix == "anthropic" else OpenAIModel
    options = _adapter_options(adapter, provider_model, options)
    if prefix in _OPENAI_COMPATIBLE:
        if not api_base:
            raise ConfigError(
                f"model {provider_model!r} runs on your own server, so it needs an api_base",
                field="litellm_params.api_base",
                fix="set api_base, e.g. http://127.0.0.1:11434/v1 (Ollama), "
                "http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:8080/v1 (llama.cpp)",
            )
        if prefix in _OLLAMA:
            api_base = _ollama_openai_base(api_base)
    return adapter, api_base or None, options


def _check_value(name: str, key: str, value: Any) -> None:
    """Numbers that must be positive, and flags that must be booleans."""
    if name in _POSITIVE_NUMBERS and (
        # `not > 0` so NaN is refused too (it failed only at the first request)
        isinstance(value, bool) or not isinstance(value, int | float) or not value > 0
    ):
        raise ConfigError(
            f"{key} must be a number > 0, got {value!r}",
            field=f"litellm_params.{key}",
            fix=f"e.g. {key}: {_POSITIVE_NUMBERS[name]}",
        )
    if name == "default_headers" and not (
        isinstance(value, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        # Not echoed: a header value may be a token.
        raise ConfigError(
            f"{key} must map header names to text values",
            field=f"litellm_params.{key}",
            fix=f"e.g. {key}: {{X-Team: research}} (quote values that look like numbers)",
        )
    if name == "stream" and not isinstance(value, bool):
        raise ConfigError(
            f"stream must be true or false, got {value!r}",
            field="litellm_params.stream",
            fix="stream: true",
        )
    if key in ("num_retries", "max_retries") and (
        isinstance(value, bool) or not isinstance(value, int) or value < 0
    ):
        raise ConfigError(
            f"{key} must be a whole number >= 0, got {value!r}",
            field=f"litellm_params.{key}",
            fix=f"e.g. {key}: 3 (0 turns retries off)",
        )


def _local_model(
    provider_model: str, *, api_key: str | None, api_base: str | None, options: dict[str, Any]
) -> Model:
    """The in-process model; construction is cheap (llama-cpp-python loads on first request)."""
    from dispatcher.models.local import LocalModel

    if api_base or api_key:
        raise ConfigError(
            f"model {provider_model!r} runs inside this process: it has no server and no key",
            field="litellm_params.api_base" if api_base else "litellm_params.api_key",
            fix="remove api_base and api_key from its litellm_params",
        )
    model_id = _model_id(provider_model)
    if not model_id:
        raise ConfigError(
            f"model {provider_model!r} names no local model",
            field="litellm_params.model",
            fix="write local/smollm2 (the bundled SmolLM2) or local/<path to a .gguf file>",
        )
    from dispatcher.models.local._options import check_local_options

    accepted = _adapter_options(LocalModel, provider_model, options)
    check_local_options(accepted)
    return LocalModel(model_id, **accepted)


def _adapter_options(
    adapter: type[Any], provider_model: str, options: dict[str, Any]
) -> dict[str, Any]:
    """Options renamed from LiteLLM spelling, router keys dropped, unknown ones refused."""
    accepted = [
        name
        for name, parameter in inspect.signature(adapter).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("api_key", "base_url")
    ]
    renamed: dict[str, Any] = {}
    for key, value in options.items():
        name = _LITELLM_ALIASES.get(key, key)
        _check_value(name, key, value)
        if key in _ROUTER_KEYS:
            continue
        if name in renamed:
            raise ConfigError(
                f"option {name!r} is given twice for model {provider_model!r}",
                field=f"litellm_params.{key}",
                fix=f"keep only one of {name!r} and its LiteLLM spelling {key!r}",
            )
        renamed[name] = value
    unknown = sorted(set(renamed) - set(accepted))
    if unknown:
        spellings = [*accepted, *_LITELLM_ALIASES, *_ROUTER_KEYS]
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for model {provider_model!r}",
            field=f"litellm_params.{unknown[0]}",
            fix=did_you_mean(unknown[0], spellings)
            + f"{adapter.__name__} accepts: {', '.join(accepted)} (and the LiteLLM spellings "
            f"{', '.join(_LITELLM_ALIASES)}; router keys {', '.join(sorted(_ROUTER_KEYS))} "
            "are accepted and ignored)",
        )
    return renamed


def _ollama_openai_base(api_base: str) -> str:
    """LiteLLM users write Ollama's root URL; its OpenAI-compatible API lives under /v1."""
    parts = urlsplit(api_base)
    if parts.path.strip("/"):
        return api_base
    return urlunsplit(parts._replace(path="/v1"))
