"""Attribute names are exactly the OpenTelemetry GenAI semantic conventions' names."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes
from otlp_fixtures import sql_report_events

from dispatcher.telemetry import _conventions as ours
from dispatcher.telemetry._otlp_json import replay_spans


def test_every_constant_equals_the_semantic_conventions_package() -> None:
    for name in ours.__all__:
        if name.startswith("GEN_AI_"):
            assert getattr(ours, name) == getattr(gen_ai, name), name
    assert ours.ERROR_TYPE == error_attributes.ERROR_TYPE
    operations = {v.value for v in gen_ai.GenAiOperationNameValues}
    assert {ours.OP_CHAT, ours.OP_EXECUTE_TOOL, ours.OP_INVOKE_AGENT, ours.OP_INVOKE_WORKFLOW} <= (
        operations
    )


def test_every_gen_ai_key_on_a_span_is_a_convention_name() -> None:
    known = {v for k, v in vars(gen_ai).items() if k.startswith("GEN_AI_") and isinstance(v, str)}
    spans = replay_spans(sql_report_events(), capture_content=True)
    used: set[str] = set()
    for span in spans:
        used |= {k for k in span.attributes or {} if k.startswith("gen_ai.")}
        for event in span.events:
            used |= {k for k in event.attributes or {} if k.startswith("gen_ai.")}
    assert used, "the spans carry gen_ai attributes"
    assert used <= known, used - known
    for span in spans:
        operation = (span.attributes or {}).get("gen_ai.operation.name")
        if operation is not None:
            assert span.name.split(" ")[0] == operation


def test_provider_and_model_of_a_call() -> None:
    from dispatcher.telemetry._attributes import split_model

    assert split_model("anthropic/claude-sonnet-4-5") == ("anthropic", "claude-sonnet-4-5")
    assert split_model("claude-sonnet-4-5-20250929") == ("anthropic", "claude-sonnet-4-5-20250929")
    assert split_model("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert split_model("ollama/llama3:8b") == ("ollama", "llama3:8b")
    assert split_model("meta-llama/Llama-3.1-8B") == ("openai", "meta-llama/Llama-3.1-8B")
    assert split_model("scripted:small") == ("scripted", "small")
    providers = {v.value for v in gen_ai.GenAiProviderNameValues}
    for model in ("anthropic/x", "openai/x", "xai/x", "mistral/x", "bedrock/x", "gemini/x"):
        assert split_model(model)[0] in providers, model
