"""`dispatcher run examples/local_worker --live` with no key: the real SmolLM2 worker loops, the
detectors catch it, the recorded strong model takes over, and the trace shows all of it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from cli_runner import run_cli
from local_runtime import require_local_runtime

from dispatcher.trace.events import event_json_schema
from dispatcher.trace.reader import read_trace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "local_worker"


def test_live_run_without_a_key_is_caught_escalated_and_traced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_local_runtime()
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = run_cli(["run", str(EXAMPLE), "--live", "--json", "--runs-dir", str(tmp_path)], capsys)
    assert result.exit_code == 0, result.stderr
    assert "strong model: recorded turns" in result.stderr
    trace = Path(json.loads(result.stdout)["trace_path"])
    events = read_trace(trace)
    local_calls = [e for e in events if e.kind == "model_call" and e.model == "smollm2"]  # type: ignore[attr-defined]
    assert local_calls
    for call in local_calls:
        assert call.provider_model == "SmolLM2-135M-Instruct.Q4_1"  # type: ignore[attr-defined]
        assert call.input_tokens > 0 and call.output_tokens > 0  # type: ignore[attr-defined]
    # Counted by the runtime, not estimated: later turns reuse the cached prompt prefix.
    assert any(c.cached_input_tokens > 0 for c in local_calls)  # type: ignore[attr-defined]
    assert [e for e in events if e.kind == "detector"]
    (episode,) = [e for e in events if e.kind == "escalation"]
    assert episode.from_model == "smollm2" and episode.outcome == "took_over"  # type: ignore[attr-defined]
    strong = [e for e in events if e.kind == "model_call" and e.model == "strong"]  # type: ignore[attr-defined]
    assert all(e.provider_model.startswith("recorded:") for e in strong)  # type: ignore[attr-defined]
    validator = jsonschema.Draft202012Validator(event_json_schema())
    for line in trace.read_text().splitlines():
        validator.validate(json.loads(line))
    assert events[-1].kind == "run_finished" and events[-1].status == "ok"  # type: ignore[attr-defined]
