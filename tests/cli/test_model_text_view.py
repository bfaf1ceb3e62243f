"""How `ask` / `run --live` lay out the models' text between the progress lines."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from dispatcher._streaming import ModelTextDelta
from dispatcher.approvals import Approval, ApprovalRequest
from dispatcher.cli._model_text import ModelTextView, shows_model_text, watched
from dispatcher.cli._progress import progress_line
from dispatcher.trace.events import EventBase, ModelCall, ModelRetry, ToolCallEvent

_BASE = {"run_id": "r", "ts": "2026-01-01T00:00:00Z", "span_id": "s", "parent_id": None}


def _call(agent: str) -> ModelCall:
    return ModelCall(
        **_BASE,
        agent=agent,
        model="small",
        provider_model="m",
        input_tokens=1,
        output_tokens=2,
        cost_usd=None,
        latency_ms=5,
    )


def _event(view: ModelTextView, event: EventBase) -> None:
    view.event(event, progress_line(event))


def _plain() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, color_system=None), out


def test_concurrent_agents_text_is_printed_whole_per_call_after_each_call() -> None:
    console, out = _plain()
    with ModelTextView(console, live=False) as view:
        view.text(ModelTextDelta("m", "Alpha ", "a"))
        view.text(ModelTextDelta("m", "Beta ", "b"))
        view.text(ModelTextDelta("m", "one.", "a"))
        assert out.getvalue() == ""  # nothing is printed while the calls are going on
        _event(view, _call("b"))
        view.text(ModelTextDelta("m", "two.", "a"))
        _event(view, _call("a"))
        _event(view, ToolCallEvent(**_BASE, agent="a", tool="t", call_id="c", ok=True))
        view.finish("the answer")
    assert out.getvalue().splitlines() == [
        "  ┊ b (m): Beta",
        "  model small: 1 in / 2 out, 5 ms",
        "  ┊ a (m): Alpha one.two.",
        "  model small: 1 in / 2 out, 5 ms",
        "  tool t ok (0 ms)",
    ]


def test_a_retry_keeps_the_failed_attempts_text_apart() -> None:
    console, out = _plain()
    with ModelTextView(console, live=False) as view:
        view.text(ModelTextDelta("m", "Half a ", "a"))
        error = {"kind": "connection", "message": "dropped"}
        _event(view, ModelRetry(**_BASE, model="m", attempt=1, error=error, delay_s=0.5))
        view.text(ModelTextDelta("m", "Whole.", "a"))
        _event(view, _call("a"))
        view.finish("Whole.")
    assert out.getvalue().splitlines() == [
        "  ┊ a (m): Half a",
        "  retry m #1 in 0.5 s",
        "  ┊ a (m): (the answer, printed below)",
        "  model small: 1 in / 2 out, 5 ms",
    ]


def test_a_failed_run_still_prints_the_text_that_led_to_it() -> None:
    console, out = _plain()
    with pytest.raises(RuntimeError), ModelTextView(console, live=False) as view:
        view.text(ModelTextDelta("m", "Working on ", None))
        raise RuntimeError("boom")
    assert out.getvalue() == "  ┊ m: Working on\n"


def _terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=60, height=12, force_terminal=True, force_interactive=True)
    return console, out


def test_the_live_region_shows_the_label_and_the_last_lines_of_a_long_text() -> None:
    console, _ = _terminal()
    view = ModelTextView(console, live=True)
    view.text(ModelTextDelta("m", "".join(f"line {n}\n" for n in range(200)), "a"))
    region = Console(file=io.StringIO(), width=60, color_system=None)
    region.print(view._render())
    shown = region.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert shown[0] == "  ┊ a (m): …"
    assert shown[-1] == "  ┊ line 199"
    assert len(shown) <= 12 - 4  # never taller than the terminal leaves room for


@pytest.mark.anyio
async def test_an_approval_prompt_gets_the_terminal_with_the_models_text_above_it() -> None:
    console, out = _terminal()
    seen: list[bool] = []

    async def ask(request: ApprovalRequest) -> Approval:
        seen.append(view._live is not None and view._live.is_started)
        seen.append("Let me delete it" in out.getvalue())
        return Approval.approve()

    with ModelTextView(console, live=True) as view:
        approve = view.around(ask)
        assert approve is not None
        view.text(ModelTextDelta("m", "Let me delete it.", "a"))
        _event(view, _call("a"))
        request = ApprovalRequest(run_id="r", agent="a", tool="rm", call_id="c", arguments={})
        assert await approve(request) == Approval.approve()
        assert view._live is not None and view._live.is_started  # back after the prompt
    assert seen == [False, True]


def test_model_text_is_on_for_a_person_at_a_terminal_only_unless_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piped, _ = _plain()
    assert not watched(piped)
    assert not shows_model_text(None, piped, as_json=False)
    assert shows_model_text(True, piped, as_json=False)
    tty = Console(file=io.StringIO(), force_terminal=True, force_interactive=True)
    monkeypatch.setattr(tty.file, "isatty", lambda: True)
    monkeypatch.delenv("CI", raising=False)
    assert shows_model_text(None, tty, as_json=False)
    assert not shows_model_text(None, tty, as_json=True)  # --json: only when asked for
    assert not shows_model_text(False, tty, as_json=False)
    monkeypatch.setenv("CI", "true")
    assert not watched(tty)  # a CI job with a pseudo-terminal is nobody watching
