"""OpenTelemetry for dispatcher runs (the `otel` extra): GenAI spans, live or from a trace file.

- `OtelTraceSink`: a trace sink that writes a run's events as spans through a TracerProvider.
  Runs add it themselves when `dispatcher: telemetry: otel: true` or `DISPATCHER_OTEL=1`.
- `export_otlp_json`: any past JSONL trace as OTLP JSON (`dispatcher trace export`).

Names are loaded on first use, so importing this package does not import OpenTelemetry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dispatcher.telemetry._switch import (
    INSTALL_HINT,
    capture_content_enabled,
    otel_enabled,
    telemetry_sinks,
)

if TYPE_CHECKING:
    from dispatcher.telemetry._otlp_json import export_otlp_json
    from dispatcher.telemetry._span_sink import OtelTraceSink

__all__ = [
    "INSTALL_HINT",
    "OtelTraceSink",
    "capture_content_enabled",
    "export_otlp_json",
    "otel_enabled",
    "telemetry_sinks",
]


def __getattr__(name: str) -> Any:
    if name == "OtelTraceSink":
        from dispatcher.telemetry._span_sink import OtelTraceSink

        return OtelTraceSink
    if name == "export_otlp_json":
        from dispatcher.telemetry._otlp_json import export_otlp_json

        return export_otlp_json
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
