"""`dispatcher trace html`: one self-contained page per run, escaped, readable when long."""

from __future__ import annotations

import re
from pathlib import Path

from long_trace import write_long_trace
from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app
from dispatcher.trace._html import render_html
from dispatcher.trace.reader import read_trace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOSTILE = '<img src="http://203.0.113.9/x.png"><script>alert(1)</script>'
_register_subcommands()


def test_page_shows_the_escalation_episode_with_why_guidance_then(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "sql_report"), "--runs-dir", str(runs)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "run.html"
    result = CliRunner().invoke(
        app, ["trace", "html", "latest", "-o", str(out), "--runs-dir", str(runs)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    episode = page[page.index('id="episode-1"') :]
    for part in ("<dt>why</dt>", "<dt>guidance</dt>", "<dt>then</dt>", "loop.failing", "UnitPrice"):
        assert part in episode[:3000], part
    assert "cost vs all-strong" in page and "% of the all-strong cost" in page
    assert "Detector verdicts (1)" in page
    assert "✗ tool</span> sql_run_query" in page and "tool_error" in page


def test_page_fetches_nothing_and_escapes_untrusted_text(tmp_path: Path) -> None:
    trace = write_long_trace(tmp_path / "long.jsonl", steps=20, hostile=HOSTILE)
    page = render_html(read_trace(trace))
    assert "default-src 'none'" in page
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"<(img|link|iframe|object|embed)\b", page)
    assert not re.search(r"\b(src|href)=\"(https?:)?//", page)


def test_a_500_step_run_is_one_row_per_step_with_filters(tmp_path: Path) -> None:
    trace = write_long_trace(tmp_path / "long.jsonl", steps=500)
    page = render_html(read_trace(trace))
    assert page.count('data-kind="model_call"') == 501
    assert page.count('data-kind="tool_call"') == 500
    assert page.count('data-problem="1"') >= 12  # failed tools, detector, escalation
    for control in ('id="only-problems"', 'id="search"', 'data-filter="tool_call"'):
        assert control in page
    assert len(page) < 2_000_000  # a few KB per step, no per-row script


def test_a_killed_run_renders_its_prefix(tmp_path: Path) -> None:
    trace = write_long_trace(tmp_path / "long.jsonl", steps=10)
    lines = trace.read_text(encoding="utf-8").splitlines()
    trace.write_text("\n".join(lines[:12]) + "\n", encoding="utf-8")
    page = render_html(read_trace(trace))
    assert "incomplete" in page and "unfinished" in page


def test_approvals_and_feedback_have_their_own_rows(tmp_path: Path) -> None:
    from dispatcher.trace.events import ApprovalEvent, FeedbackEvent, RunFinished, RunStarted
    from dispatcher.trace.sink import JsonlTraceSink
    from dispatcher.trace.tracer import Tracer

    path = tmp_path / "approvals.jsonl"
    tracer = Tracer("approvals-run", [JsonlTraceSink(path)], trace_path=path)
    tracer.emit(RunStarted, span_id="s0", task="Delete the temp files.")
    denied = {"decision": "deny", "decided_by": "timeout", "reason": HOSTILE, "wait_ms": 3e4}
    for stage, extra in (("requested", {}), ("decided", denied)):
        tracer.emit(ApprovalEvent, agent="cleaner", tool="workspace_run_command", call_id="c1",
                    stage=stage, arguments={"command": f"rm -rf / {HOSTILE}"}, **extra)  # fmt: skip
    tracer.emit(ApprovalEvent, agent="cleaner", tool="workspace_write_file", call_id="c2",
                stage="decided", decision="edit", decided_by="approver",
                arguments={"path": "a.txt"}, edited_arguments={"path": "b.txt"})  # fmt: skip
    tracer.emit(FeedbackEvent, router="bandit", reward=0.25, routes=["small"], source="cli")
    tracer.emit(RunFinished, status="ok", cost_usd=None, counterfactual_cost_usd=None)
    tracer.close()
    page = render_html(read_trace(path))
    assert page.count('data-kind="approval"') == 3
    assert 'data-filter="approval"' in page and 'data-filter="feedback"' in page
    assert "workspace_run_command" in page and "asked" in page
    assert "denied" in page and "timeout" in page and "30.0 s" in page
    assert "edited" in page and "b.txt" in page
    assert page.count('data-kind="feedback"') == 1 and "reward 0.25" in page and "bandit" in page
    assert HOSTILE not in page
