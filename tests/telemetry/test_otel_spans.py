"""Live runs emit GenAI spans through the global TracerProvider, shaped like their trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from span_tree import assert_same_tree
from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app
from dispatcher.errors import ConfigError
from dispatcher.registry.config import parse_registry_config
from dispatcher.trace.events import Event
from dispatcher.trace.reader import read_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_register_subcommands()


def run_example(name: str, runs_dir: Path) -> list[Event]:
    result = CliRunner().invoke(
        app, ["run", str(EXAMPLES / name), "--runs-dir", str(runs_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    return read_trace(Path(json.loads(result.stdout)["trace_path"]))


@pytest.mark.parametrize("name", ["sql_report", "fix_failing_test", "custom_specialist"])
def test_span_tree_equals_the_trace_of_each_example(
    name: str, tmp_path: Path, global_spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCHER_OTEL", "1")
    events = run_example(name, tmp_path)
    assert_same_tree(global_spans.get_finished_spans(), events)


def test_no_spans_unless_switched_on(
    tmp_path: Path, global_spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCHER_OTEL", raising=False)
    run_example("sql_report", tmp_path)
    assert global_spans.get_finished_spans() == ()
    monkeypatch.setenv("DISPATCHER_OTEL", "0")
    run_example("sql_report", tmp_path)
    assert global_spans.get_finished_spans() == ()


def test_config_switch_turns_spans_on(
    tmp_path: Path, global_spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCHER_OTEL", raising=False)
    example = tmp_path / "sql_report"
    import shutil

    shutil.copytree(EXAMPLES / "sql_report", example)
    config = example / "dispatcher.yaml"
    text = config.read_text(encoding="utf-8")
    assert "\ndispatcher:\n" in text
    config.write_text(
        text.replace("\ndispatcher:\n", "\ndispatcher:\n  telemetry: {otel: true}\n"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app, ["run", str(example), "--runs-dir", str(tmp_path / "runs"), "--json"]
    )
    assert result.exit_code == 0, result.output
    names = {s.name.split(" ")[0] for s in global_spans.get_finished_spans()}
    assert {"invoke_workflow", "invoke_agent", "chat", "execute_tool"} <= names


def test_telemetry_settings_are_validated_strictly() -> None:
    config = parse_registry_config({"dispatcher": {"telemetry": {"otel": True}}})
    assert config.settings.telemetry.otel and not config.settings.telemetry.capture_content
    with pytest.raises(ConfigError, match="otle"):
        parse_registry_config({"dispatcher": {"telemetry": {"otle": True}}})


def test_spans_carry_the_conventions_attributes(
    tmp_path: Path, global_spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCHER_OTEL", "1")
    events = run_example("sql_report", tmp_path)
    spans = global_spans.get_finished_spans()
    chat = next(s for s in spans if s.name == "chat strong")
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "strong"
    assert chat.attributes["gen_ai.agent.name"] == "sql_analyst-overwatch"
    call = next(e for e in events if e.kind == "model_call" and e.model == "strong")
    assert chat.attributes["gen_ai.usage.input_tokens"] == call.input_tokens  # type: ignore[union-attr]
    assert chat.attributes["gen_ai.usage.output_tokens"] == call.output_tokens  # type: ignore[union-attr]
    agent = next(s for s in spans if s.name == "invoke_agent sql_analyst")
    assert agent.attributes is not None
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent.attributes["gen_ai.agent.name"] == "sql_analyst"
    tool = next(s for s in spans if s.name == "execute_tool sql_run_query")
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "sql_run_query"
    escalation = next(s for s in spans if s.name == "escalation detector")
    assert escalation.attributes is not None
    assert escalation.attributes["dispatcher.escalation.mode"] == "advise"
    assert escalation.attributes["dispatcher.escalation.outcome"] == "advised"
    assert escalation.attributes["dispatcher.escalation.cost_usd"] > 0
    assert escalation.parent is not None and escalation.parent.span_id == agent.context.span_id
    failed = [s for s in spans if s.name == "execute_tool sql_run_query" and not s.status.is_ok]
    assert failed and all(s.attributes["error.type"] for s in failed if s.attributes)


def test_message_content_only_when_opted_in(
    tmp_path: Path, global_spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCHER_OTEL", "1")
    monkeypatch.delenv("DISPATCHER_OTEL_CAPTURE_CONTENT", raising=False)
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    events = run_example("sql_report", tmp_path)
    content_keys = {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "dispatcher.escalation.guidance",
    }
    task = events[0].task  # type: ignore[union-attr]
    dumped = _dump(global_spans)
    assert not content_keys & _keys(global_spans)
    assert task[:40] not in dumped and "InvoiceLine" not in dumped
    global_spans.clear()
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    run_example("sql_report", tmp_path)
    assert content_keys <= _keys(global_spans)
    assert "InvoiceLine" in _dump(global_spans)


def _keys(exporter: InMemorySpanExporter) -> set[str]:
    keys: set[str] = set()
    for span in exporter.get_finished_spans():
        keys |= set(span.attributes or {})
        for event in span.events:
            keys |= set(event.attributes or {})
    return keys


def _dump(exporter: InMemorySpanExporter) -> str:
    return "\n".join(span.to_json() for span in exporter.get_finished_spans())


def test_spans_switched_on_without_opentelemetry_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from dispatcher.telemetry import telemetry_sinks

    config = parse_registry_config({"dispatcher": {"telemetry": {"otel": True}}})
    for name in [
        m for m in sys.modules if m.startswith(("opentelemetry", "dispatcher.telemetry._span"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigError, match=r'fix: pip install -e "\.\[otel\]"'):
        telemetry_sinks(config.settings.telemetry)


def test_signals_and_arguments_with_keys_of_mixed_types_become_attributes() -> None:
    # A tool's signals are user data: {1: ..., "b": ...} made json.dumps(sort_keys=True) raise
    # TypeError inside the span sink, which a live run with spans on did not survive.
    from dispatcher.telemetry._attributes import tool_call_attributes
    from dispatcher.trace.events import ToolCallEvent

    mixed = {"by_id": {1: "one", "two": 2}, "raw": [b"\xff"]}
    event = ToolCallEvent(
        run_id="r",
        ts="2026-12-06T10:00:00+00:00",
        span_id="s",
        agent="a",
        tool="t",
        call_id="c",
        ok=True,
        arguments=mixed,
        signals=mixed,
    )
    attributes = tool_call_attributes(event, content=True)
    for key in ("dispatcher.signals", "gen_ai.tool.call.arguments"):
        assert json.loads(str(attributes[key]))["by_id"] == {"1": "one", "two": 2}
