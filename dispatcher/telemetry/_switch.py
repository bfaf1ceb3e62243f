"""Whether a run emits OpenTelemetry spans, and the sink that does it (imported only then)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dispatcher.errors import ConfigError

if TYPE_CHECKING:
    from dispatcher.registry._schema import TelemetrySpec
    from dispatcher.trace.sink import TraceSink

__all__ = ["INSTALL_HINT", "capture_content_enabled", "otel_enabled", "telemetry_sinks"]

INSTALL_HINT = (
    'pip install -e ".[otel]" (from the dispatcher repository root): '
    "opentelemetry-api and opentelemetry-sdk"
)
_TRUE = {"1", "true", "yes", "on"}
# The variable OpenTelemetry's own GenAI instrumentations read for the same opt-in.
_OTEL_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def otel_enabled(spec: TelemetrySpec) -> bool:
    """`dispatcher: telemetry: otel: true`, or `DISPATCHER_OTEL=1` in the environment."""
    return spec.otel or _env_flag("DISPATCHER_OTEL")


def capture_content_enabled(spec: TelemetrySpec) -> bool:
    """Message content on spans only on request: config, `DISPATCHER_OTEL_CAPTURE_CONTENT=1`
    or OpenTelemetry's `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`."""
    return (
        spec.capture_content
        or _env_flag("DISPATCHER_OTEL_CAPTURE_CONTENT")
        or _env_flag(_OTEL_CONTENT_ENV)
    )


def telemetry_sinks(spec: TelemetrySpec) -> list[TraceSink]:
    """The extra sinks a run gets from its telemetry settings (none unless enabled)."""
    if not otel_enabled(spec):
        return []
    try:
        from dispatcher.telemetry._span_sink import OtelTraceSink
    except ImportError:
        raise ConfigError(
            "OpenTelemetry spans are switched on (telemetry.otel or DISPATCHER_OTEL) but "
            "opentelemetry is not installed",
            fix=INSTALL_HINT + ", or switch telemetry off",
        ) from None
    return [OtelTraceSink(capture_content=capture_content_enabled(spec))]
