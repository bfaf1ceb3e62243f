"""`dispatcher trace export`: any past trace as OTLP JSON, stable and shaped like the trace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from otlp_fixtures import sql_report_events, sql_report_trace
from span_tree import assert_same_tree
from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app
from dispatcher.errors import ConfigError
from dispatcher.redaction import register_secret
from dispatcher.telemetry import export_otlp_json
from dispatcher.telemetry._otlp_json import replay_spans
from dispatcher.trace.reader import read_trace

_register_subcommands()


def _spans(document: dict) -> list[dict]:  # type: ignore[type-arg]
    return [s for r in document["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]]


def _attributes(span: dict) -> dict:  # type: ignore[type-arg]
    values = {}
    for item in span["attributes"]:
        value = item["value"]
        values[item["key"]] = next(iter(value.values()))
    return values


def test_replayed_spans_have_the_trace_structure() -> None:
    events = sql_report_events()
    assert_same_tree(replay_spans(events), events)


def test_document_is_otlp_json() -> None:
    document = export_otlp_json(sql_report_events())
    (resource,) = document["resourceSpans"]
    assert {"key": "service.name", "value": {"stringValue": "dispatcher"}} in resource["resource"][
        "attributes"
    ]
    spans = _spans(document)
    ids = {s["spanId"] for s in spans}
    for span in spans:
        assert len(span["traceId"]) == 32 and int(span["traceId"], 16)
        assert len(span["spanId"]) == 16 and int(span["spanId"], 16)
        assert span.get("parentSpanId", next(iter(ids))) in ids
        assert int(span["startTimeUnixNano"]) <= int(span["endTimeUnixNano"])
        assert span["kind"] in (1, 3)  # INTERNAL, or CLIENT for chat
        assert span["status"]["code"] in (0, 2)
    chat = next(s for s in spans if s["name"].startswith("chat "))
    values = _attributes(chat)
    assert values["gen_ai.usage.input_tokens"].isdigit()  # int64 as a string, as OTLP JSON says
    assert chat["kind"] == 3


def test_export_is_stable() -> None:
    events = sql_report_events()
    assert export_otlp_json(events) == export_otlp_json(events)


def test_cli_export_latest_writes_gen_ai_spans(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copy(sql_report_trace(), runs)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        ["trace", "export", "latest", "--format", "otlp-json", "-o", "spans.json",
         "--runs-dir", str(runs)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    spans = _spans(json.loads((tmp_path / "spans.json").read_text(encoding="utf-8")))
    operations = {s["name"].split(" ")[0] for s in spans}
    assert {"invoke_agent", "chat", "execute_tool"} <= operations
    by_operation = {s["name"].split(" ")[0]: _attributes(s) for s in spans}
    assert by_operation["invoke_agent"]["gen_ai.agent.name"]
    assert by_operation["chat"]["gen_ai.request.model"]
    assert {"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} <= set(by_operation["chat"])
    assert by_operation["execute_tool"]["gen_ai.tool.name"]
    escalation = next(s for s in spans if s["name"].startswith("escalation"))
    assert _attributes(escalation)["dispatcher.escalation.outcome"] == "advised"


def test_cli_export_rejects_an_unknown_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["trace", "export", str(sql_report_trace()), "--format", "zipkin", "-o",
         str(tmp_path / "x.json")],
    )  # fmt: skip
    # main() turns a UserError into `error:` / `fix:` lines and exit status 2
    assert isinstance(result.exception, ConfigError)
    assert "fix: use --format otlp-json" in str(result.exception)
    assert not (tmp_path / "x.json").exists()


def test_a_killed_run_exports_its_prefix_with_open_spans_ended(tmp_path: Path) -> None:
    lines = sql_report_trace().read_text(encoding="utf-8").splitlines()
    cut = next(i for i, line in enumerate(lines) if '"kind":"escalation"' in line.replace(" ", ""))
    partial = tmp_path / "partial.jsonl"
    # up to the overwatch's call, plus a half-written line, as a killed run leaves it
    partial.write_text("\n".join(lines[:cut]) + "\n" + lines[cut][:40], encoding="utf-8")
    spans = replay_spans(read_trace(partial))
    incomplete = {s.name for s in spans if (s.attributes or {}).get("dispatcher.incomplete")}
    assert {"invoke_workflow dispatcher", "invoke_agent sql_analyst"} <= incomplete
    assert any(s.name == "chat strong" for s in spans)  # held back for its episode, still kept


def test_keys_never_reach_a_span_even_with_content(tmp_path: Path) -> None:
    secret = "sk-ant-" + "k3y" * 10
    register_secret("registered-" + "v" * 12)
    lines = sql_report_trace().read_text(encoding="utf-8").splitlines()
    poisoned = [
        line.replace("11 tables and views", f"{secret} registered-{'v' * 12}") for line in lines
    ]
    trace = tmp_path / "poisoned.jsonl"
    trace.write_text("\n".join(poisoned) + "\n", encoding="utf-8")
    text = json.dumps(export_otlp_json(read_trace(trace), capture_content=True))
    assert "[REDACTED]" in text
    assert secret not in text and "registered-" + "v" * 12 not in text


def test_export_without_opentelemetry_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    for name in [
        m for m in sys.modules if m.startswith(("opentelemetry", "dispatcher.telemetry._"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails, as when not installed
    result = CliRunner().invoke(
        app, ["trace", "export", str(sql_report_trace()), "-o", str(tmp_path / "spans.json")]
    )
    assert isinstance(result.exception, ConfigError)
    assert 'fix: pip install -e ".[otel]"' in str(result.exception)
    assert not (tmp_path / "spans.json").exists()


def test_one_sink_serves_runs_at_once(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from dispatcher.telemetry import OtelTraceSink

    first = sql_report_events()
    text = sql_report_trace().read_text(encoding="utf-8").replace(first[0].run_id, "other-run")
    (tmp_path / "other.jsonl").write_text(text, encoding="utf-8")
    second = read_trace(tmp_path / "other.jsonl")
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sink = OtelTraceSink(provider)
    for one, other in zip(first, second, strict=True):  # interleaved, as concurrent runs write
        sink.write(one)
        sink.write(other)
        sink.close()  # a run's tracer closing must not end the other run's spans
    spans = exporter.get_finished_spans()
    by_trace: dict[int, list] = {}  # type: ignore[type-arg]
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span)  # type: ignore[union-attr]
    assert len(by_trace) == 2
    for group in by_trace.values():
        root = next(s for s in group if s.parent is None)
        events = first if root.attributes["dispatcher.run_id"] == first[0].run_id else second  # type: ignore[index]
        assert_same_tree(group, events)
    assert not any((s.attributes or {}).get("dispatcher.incomplete") for s in spans)
