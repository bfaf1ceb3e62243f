"""The shape of a registry file: LiteLLM's `model_list` plus our `dispatcher:` section."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LiteLLMParams(BaseModel):
    # LiteLLM accepts many more keys (rpm, timeout, ...); unknown ones are kept as options.
    model_config = ConfigDict(extra="allow")

    model: str
    api_base: str | None = None
    api_key: str | None = None


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    input_cost_per_token: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    output_cost_per_token: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    max_input_tokens: int | None = Field(default=None, gt=0, strict=True)
    max_output_tokens: int | None = Field(default=None, gt=0, strict=True)


class ModelListEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    model_name: str
    litellm_params: LiteLLMParams
    model_info: ModelInfo | None = None


class PriceSpec(_Strict):
    input: float = Field(ge=0, allow_inf_nan=False)
    output: float = Field(ge=0, allow_inf_nan=False)
    cached_input: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class ModelSpec(_Strict):
    tier: Literal["strong", "weak", "specialist"] | None = None
    price: PriceSpec | None = None
    # strict: YAML's `true` is not the number 1
    context_window: int | None = Field(default=None, gt=0, strict=True)
    max_output_tokens: int | None = Field(default=None, gt=0, strict=True)
    capabilities: list[str] | None = None


class BudgetSpec(_Strict):
    usd: float | None = Field(default=None, gt=0)
    turns: int | None = Field(default=None, gt=0)
    tokens: int | None = Field(default=None, gt=0)
    wall_s: float | None = Field(default=None, gt=0)
    tool_calls: int | None = Field(default=None, gt=0)


class TelemetrySpec(_Strict):
    """`dispatcher: telemetry:` (see docs/observability.md)."""

    otel: bool = False  # OpenTelemetry GenAI spans through the global TracerProvider
    capture_content: bool = False  # prompts, outputs and tool arguments on spans: opt-in


class GatewaySpec(_Strict):
    """`dispatcher serve` settings: client keys name environment variables, never hold keys."""

    api_keys: list[str] = Field(default_factory=list)
    # Relayed requests' traces. per_process (default): one file per gateway process, which
    # `dispatcher trace show <run id>` searches; per_run: a file per request (costs more CPU)
    traces: Literal["per_run", "per_process"] = "per_process"

    @field_validator("api_keys")
    @classmethod
    def _env_references_only(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not key.startswith("os.environ/") or len(key) == len("os.environ/"):
                # Never echo the entry: it may be a real key pasted into the file.
                raise ValueError(
                    "each api_keys entry must be os.environ/NAME (the key lives in that "
                    "environment variable, never in the file)"
                )
        return keys


class FeedbackSpec(_Strict):
    """Automatic feedback to the router from the routed agent's validation gate."""

    from_gates: bool = False
    # passed: every gate check of the run passed; failed: one failed (even if escalation
    # fixed it later). Finite: a NaN or inf reward would poison the bandit's state.
    passed: float = Field(default=1.0, allow_inf_nan=False)
    failed: float = Field(default=0.0, allow_inf_nan=False)


class SpendCapSpec(_Strict):
    """`dispatcher: spend_cap:`: a USD cap per UTC day, counted in the `state:` store."""

    usd_per_day: float = Field(gt=0)
    key: str = "default"


class DispatcherSection(_Strict):
    tiers: dict[str, str] = Field(default_factory=dict)
    prices: dict[str, PriceSpec] = Field(default_factory=dict)
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    overwatch: str | None = None
    dispatcher_model: str | None = None
    default_route: str | None = None
    budgets: BudgetSpec = Field(default_factory=BudgetSpec)
    toolkits: dict[str, dict[str, Any]] = Field(default_factory=dict)
    agents: list[str] = Field(default_factory=list)
    detectors: dict[str, Any] = Field(default_factory=dict)
    escalation: dict[str, Any] = Field(default_factory=dict)
    router: dict[str, Any] | None = None
    runs_dir: str | None = None
    # model name -> backups tried in order when it fails (or its context is too small)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    fallback_cooldown_s: float = Field(default=60.0, ge=0)
    telemetry: TelemetrySpec = Field(default_factory=TelemetrySpec)
    gateway: GatewaySpec = Field(default_factory=GatewaySpec)
    # Tools (registry or wire names) whose every call waits for a human's decision.
    requires_approval: list[str] = Field(default_factory=list)
    approval_timeout_s: float = Field(default=300.0, gt=0)
    feedback: FeedbackSpec = Field(default_factory=FeedbackSpec)
    # Shared state (docs/scaling.md): redis://HOST:PORT/DB, or local (this process only).
    state: str | None = Field(default=None, pattern=r"^(local|redis://|rediss://|unix://)")
    spend_cap: SpendCapSpec | None = None


class RegistryFile(_Strict):
    model_list: list[ModelListEntry] = Field(default_factory=list)
    dispatcher: DispatcherSection = Field(default_factory=DispatcherSection)
    # LiteLLM files often carry these; we accept and ignore them.
    litellm_settings: dict[str, Any] | None = None
    router_settings: dict[str, Any] | None = None
    general_settings: dict[str, Any] | None = None
