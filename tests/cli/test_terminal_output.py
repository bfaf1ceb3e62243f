"""Model and tool output printed by the CLI cannot drive the terminal: escape sequences (clear
the screen, retitle the window, write the clipboard with OSC 52), carriage returns that
overwrite a line and bidi overrides are shown as visible escapes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dispatcher.cli._progress import progress_line
from dispatcher.cli._run import _report
from dispatcher.cli._terminal import printable
from dispatcher.runner import RunResult
from dispatcher.trace.events import EscalationEvent, ToolCallEvent

HOSTILE = "ok\x1b[2J\x1b]52;c;cHduZWQ=\x07\rfake\u202egnp.exe\x9b31m"
_BASE = {"run_id": "r", "ts": "2026-01-01T00:00:00Z", "span_id": "s", "parent_id": None}


def _clean(text: str) -> None:
    for bad in ("\x1b", "\x07", "\r", "\u202e", "\x9b"):
        assert bad not in text


def test_printable_keeps_text_and_shows_controls() -> None:
    assert printable("line one\n\tline two ünïcode") == "line one\n\tline two ünïcode"
    shown = printable(HOSTILE)
    _clean(shown)
    assert "\\x1b[2J" in shown and "\\u202e" in shown


def test_a_tool_name_from_the_model_is_printable_in_progress_lines() -> None:
    event = ToolCallEvent(
        **_BASE, agent="a", tool=HOSTILE, call_id="c", ok=False, error_kind="unknown_tool"
    )
    line = progress_line(event)
    assert line is not None
    _clean(line)


def test_the_report_shows_answer_and_reasons_printable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    escalation = EscalationEvent(
        **_BASE,
        trigger="self",
        reason=HOSTILE,
        from_model="small",
        to_model="strong",
        mode="advise",
        outcome="advised",
        agent="a",
    )
    result = RunResult(
        run_id="r",
        answer=HOSTILE,
        status="ok",
        cost_usd=0.0,
        counterfactual_cost_usd=0.0,
        trace_path=Path("r.jsonl"),
        events=[escalation],
    )
    buffer = io.StringIO()
    _report(result, Console(file=buffer, width=200), as_json=False)
    out = capsys.readouterr().out + buffer.getvalue()
    _clean(out)
    assert "fake" in out


def test_trace_show_and_ls_print_events_printable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli_runner import run_cli
    from scenario import registry

    from dispatcher import Agent, Dispatcher
    from dispatcher.testing import reply

    helper = Agent(name="helper", description="Helps.", tier="weak")
    reg, _, _ = registry([helper], small=[reply(HOSTILE, agent="dispatcher")])
    Dispatcher(reg, runs_dir=tmp_path).run_sync(f"task {HOSTILE}")
    for args in (["trace", "show", "latest"], ["trace", "ls"]):
        result = run_cli([*args, "--runs-dir", str(tmp_path)], capsys)
        assert result.exit_code == 0, result.stderr
        _clean(result.stdout)
