"""An in-memory exporter on the global TracerProvider, which live runs write to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_EXPORTER: InMemorySpanExporter | None = None


def _global_exporter() -> InMemorySpanExporter:
    # The global provider can be set once per process: set it (or reuse the SDK one) once.
    global _EXPORTER
    if _EXPORTER is None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        _EXPORTER = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    return _EXPORTER


@pytest.fixture
def global_spans() -> Iterator[InMemorySpanExporter]:
    exporter = _global_exporter()
    exporter.clear()
    yield exporter
    exporter.clear()
