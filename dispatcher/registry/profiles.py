"""Model profiles: what the registry knows about each model, and what it costs."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dispatcher.errors import ConfigError, MissingKeyError
from dispatcher.messages import Usage
from dispatcher.redaction import register_secret

__all__ = ["ModelProfile", "Price", "Tier", "cost_usd"]

Tier = Literal["strong", "weak", "specialist"]
ENV_PREFIX = "os.environ/"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # matched whole


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached_input"):
            value = getattr(self, name)
            if value is None and name == "cached_input":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(
                    f"price {name} must be a finite number >= 0 (USD per million tokens), "
                    f"got {value!r}",
                    field=f"prices.{name}",
                    fix="e.g. Price(input=0.15, output=0.60)",
                )


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """One deployable model: where it lives, its tier, price and limits.

    Keys are never stored: `api_key_env` names the environment variable they come from.
    """

    name: str
    provider_model: str
    tier: Tier | None = None
    price: Price | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    capabilities: frozenset[str] = frozenset({"tools"})
    api_base: str | None = None
    api_key_env: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = self.api_key_env
        if env is not None and not (isinstance(env, str) and _ENV_NAME.fullmatch(env)):
            # Not echoed: the key itself is the likely mistake here.
            raise ConfigError(
                "api_key_env must be an environment variable name (letters, digits and '_', "
                "not starting with a digit), not the key itself",
                field="api_key_env",
                fix="ModelProfile(..., api_key_env='PROVIDER_API_KEY') and export that variable",
            )

    def __repr__(self) -> str:
        key = f"os.environ/{self.api_key_env}" if self.api_key_env else None
        return (
            f"ModelProfile(name={self.name!r}, provider_model={self.provider_model!r}, "
            f"tier={self.tier!r}, price={self.price!r}, api_base={self.api_base!r}, "
            f"api_key={key!r})"
        )

    @property
    def priced(self) -> bool:
        return self.price is not None

    @property
    def supports_tools(self) -> bool:
        return "tools" in self.capabilities

    def api_key(self) -> str | None:
        """Read the key from the environment (registering it for redaction); None if unset."""
        if not self.api_key_env:
            return None
        # Stripped: a newline from a .env file or a secret mount is no part of a key, and an
        # HTTP client refuses it in a header.
        value = (os.environ.get(self.api_key_env) or "").strip() or None
        register_secret(value)
        return value

    def require_api_key(self) -> str:
        key = self.api_key()
        if not key:
            raise MissingKeyError(
                # "the ..." (a short word after `api_key':`) reads as prose, not as a key
                # value, to the redaction every error passes through.
                f"the environment variable {self.api_key_env} is not set: model {self.name!r} "
                f"reads its key from it (api_key: os.environ/{self.api_key_env}); no other "
                "variable is used in its place",
                entry=f"model_list ({self.name})",
                field="litellm_params.api_key",
                # No CLI flag here: `ask`, the gateway and code reach this too.
                fix=f"export {self.api_key_env}=<your key> (a run replayed from a cassette "
                "or driven by scripted models needs no key)",
                model=self.name,
                variable=self.api_key_env or "",
            )
        return key


def cost_usd(price: Price | None, usage: Usage) -> float | None:
    """What `usage` costs at `price`; None when unpriced (never reported as free)."""
    if price is None:
        return None
    cached = usage.cached_input_tokens if price.cached_input is not None else 0
    fresh = usage.input_tokens - cached
    total = fresh * price.input + usage.output_tokens * price.output
    if price.cached_input is not None:
        total += cached * price.cached_input
    return total / 1_000_000
