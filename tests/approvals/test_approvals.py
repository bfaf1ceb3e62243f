"""Tools that require approval wait for a human: approve, deny, edit, time out, take-over."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from scenario import registry

from dispatcher import Agent, Approval, ApprovalRequest, Dispatcher, RunResult, tool
from dispatcher.trace.events import ApprovalEvent, ToolCallEvent, event_json_schema

sent: list[str] = []


@tool(requires_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email."""
    sent.append(to)
    return f"sent to {to}"


@tool
def lookup(key: str) -> str:
    """Look up a value."""
    return f"value of {key}"


MAILER = Agent(name="mailer", description="Sends emails.", tools=[send_email], tier="weak")


@pytest.fixture(autouse=True)
def _clear() -> None:
    sent.clear()


def _mail_run(
    approve: Any, *, agent: Agent = MAILER, dispatcher: dict[str, Any] | None = None
) -> RunResult:
    from dispatcher.testing import reply, tool_calls

    reg, small, _ = registry(
        [agent],
        small=[
            tool_calls((agent.name, {"task": "mail bob"}), agent="dispatcher"),
            tool_calls(("send_email", {"to": "bob@example.com", "body": "hi"}), agent=agent.name),
            reply("done", agent=agent.name),
            reply("done", agent="dispatcher"),
        ],
        dispatcher=dispatcher,
    )
    result = Dispatcher(reg).run_sync("mail bob", approve=approve)
    small.assert_complete()
    return result


def _events(result: RunResult, kind: type[Any]) -> list[Any]:
    return [e for e in result.events if isinstance(e, kind)]


def test_an_approved_call_runs_and_both_request_and_decision_are_traced() -> None:
    asked: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> Approval:
        asked.append(request)
        return Approval.approve()

    result = _mail_run(approve)
    assert sent == ["bob@example.com"]
    (request,) = asked
    assert request.tool == "send_email" and request.agent == "mailer"
    assert request.arguments == {"to": "bob@example.com", "body": "hi"}
    requested, decided = _events(result, ApprovalEvent)
    assert requested.stage == "requested" and requested.arguments["to"] == "bob@example.com"
    assert (decided.stage, decided.decision, decided.decided_by) == (
        "decided",
        "approve",
        "approver",
    )
    (call,) = _events(result, ToolCallEvent)
    assert call.ok and call.output == "sent to bob@example.com"


def test_a_denied_call_never_runs_and_the_model_is_told_why() -> None:
    async def deny(request: ApprovalRequest) -> Approval:
        return Approval.deny("bob asked not to be mailed")

    result = _mail_run(deny)
    assert sent == []
    (call,) = _events(result, ToolCallEvent)
    assert not call.ok and call.error_kind == "denied"
    assert "a human denied this call to send_email: bob asked not to be mailed" in call.error
    assert _events(result, ApprovalEvent)[-1].decision == "deny"


def test_an_edited_call_runs_with_the_humans_arguments() -> None:
    async def edit(request: ApprovalRequest) -> Approval:
        return Approval.edit({**request.arguments, "to": "alice@example.com"})

    result = _mail_run(edit)
    assert sent == ["alice@example.com"]
    (call,) = _events(result, ToolCallEvent)
    assert call.ok and call.arguments["to"] == "alice@example.com"
    decided = _events(result, ApprovalEvent)[-1]
    assert decided.decision == "edit" and decided.edited_arguments["to"] == "alice@example.com"


def test_an_edit_that_breaks_the_schema_is_an_invalid_arguments_error() -> None:
    async def edit(request: ApprovalRequest) -> Approval:
        return Approval.edit({"to": 5})

    result = _mail_run(edit)
    assert sent == []
    (call,) = _events(result, ToolCallEvent)
    assert not call.ok and call.error_kind == "invalid_arguments"


def test_no_decision_within_the_timeout_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(request: ApprovalRequest) -> Approval:
        await anyio.sleep(60)
        return Approval.approve()

    result = _mail_run(never, dispatcher={"approval_timeout_s": 0.2})
    assert sent == []
    decided = _events(result, ApprovalEvent)[-1]
    assert (decided.decision, decided.decided_by) == ("deny", "timeout")
    assert 150 < decided.wait_ms < 5_000


def test_without_an_approver_such_calls_are_denied() -> None:
    result = _mail_run(None)
    assert sent == []
    assert _events(result, ApprovalEvent)[-1].decided_by == "no_approver"


def test_an_approver_that_raises_denies_instead_of_crashing_the_run() -> None:
    async def broken(request: ApprovalRequest) -> Approval:
        raise RuntimeError("ui closed")

    result = _mail_run(broken)
    assert sent == [] and result.status == "ok"


@pytest.mark.parametrize(("agent_list", "registry_list"), [(["lookup"], []), ([], ["lookup"])])
def test_agents_and_the_registry_can_require_approval_for_any_tool(
    agent_list: Sequence[str], registry_list: Sequence[str]
) -> None:
    from dispatcher.testing import reply, tool_calls

    agent = Agent(
        name="finder",
        description="Finds.",
        tools=[lookup],
        tier="weak",
        requires_approval=agent_list,
    )
    reg, _, _ = registry(
        [agent],
        small=[
            tool_calls(("finder", {"task": "find x"}), agent="dispatcher"),
            tool_calls(("lookup", {"key": "x"}), agent="finder"),
            reply("ok", agent="finder"),
            reply("ok", agent="dispatcher"),
        ],
        dispatcher={"requires_approval": list(registry_list)},
    )
    result = Dispatcher(reg).run_sync("find x", approve=None)
    (call,) = _events(result, ToolCallEvent)
    assert call.error_kind == "denied"
    assert lookup.requires_approval is False  # the shared tool itself is untouched


def test_an_overwatch_take_over_is_subject_to_the_same_approvals() -> None:
    from dispatcher.testing import reply, tool_calls

    asked: list[str] = []

    async def deny(request: ApprovalRequest) -> Approval:
        asked.append(request.agent)
        return Approval.deny()

    reg, small, strong = registry(
        [MAILER],
        small=[
            tool_calls(("mailer", {"task": "mail bob"}), agent="dispatcher"),
            tool_calls(("escalate", {"reason": "stuck", "question": "help"}), agent="mailer"),
            reply("not sent", agent="dispatcher"),
        ],
        strong=[
            tool_calls(("overwatch_decision", {"mode": "take_over", "guidance": "I will"})),
            tool_calls(("send_email", {"to": "bob@example.com", "body": "hi"})),
            reply("not sent"),
        ],
    )
    result = Dispatcher(reg).run_sync("mail bob", approve=deny)
    strong.assert_complete()
    assert sent == [] and asked == ["mailer-overwatch"]
    (call,) = _events(result, ToolCallEvent)
    assert call.agent == "mailer-overwatch" and call.error_kind == "denied"


def test_the_trace_schema_has_the_approval_kind() -> None:
    schema = event_json_schema()
    assert "approval" in str(schema)


def test_trace_show_renders_approvals(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dispatcher.cli.app import _register_subcommands, app
    from dispatcher.testing import reply, tool_calls

    _register_subcommands()

    async def deny(request: ApprovalRequest) -> Approval:
        return Approval.deny("not today")

    reg, _, _ = registry(
        [MAILER],
        small=[
            tool_calls(("mailer", {"task": "mail bob"}), agent="dispatcher"),
            tool_calls(("send_email", {"to": "bob@example.com", "body": "hi"}), agent="mailer"),
            reply("done", agent="mailer"),
            reply("done", agent="dispatcher"),
        ],
    )
    result = Dispatcher(reg, runs_dir=tmp_path).run_sync("mail bob", approve=deny)
    shown = CliRunner().invoke(app, ["trace", "show", result.run_id, "--runs-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "approval send_email requested" in shown.output
    assert "approval send_email: deny by approver (not today)" in shown.output


@pytest.mark.parametrize(
    ("agent_list", "registry_list"), [(["lokup"], []), ([], ["lokup"]), (["mailer.send"], [])]
)
def test_a_requires_approval_name_that_matches_no_tool_is_a_config_error(
    agent_list: Sequence[str], registry_list: Sequence[str]
) -> None:
    # Before: a typo matched nothing, so the tool it meant ran without asking anyone.
    from dispatcher.errors import ConfigError
    from dispatcher.testing import tool_calls

    agent = Agent(
        name="finder",
        description="Finds.",
        tools=[lookup],
        tier="weak",
        requires_approval=agent_list,
    )
    reg, _, _ = registry([agent], small=[], dispatcher={"requires_approval": list(registry_list)})
    with pytest.raises(ConfigError, match="no tool") as caught:
        reg.check()  # what loading a registry file does (Dispatcher.from_config, the CLI)
    assert "lookup" in (caught.value.fix or "")
    if agent_list:  # from code without check(): refused when the agent starts
        reg, _, _ = registry(
            [agent], small=[tool_calls(("finder", {"task": "find x"}), agent="dispatcher")]
        )
        with pytest.raises(ConfigError, match="no tool"):
            Dispatcher(reg).run_sync("find x", approve=None)


@pytest.mark.parametrize("approve", ["yes", True, 1])
def test_an_approver_that_cannot_be_called_is_refused_before_the_run(approve: object) -> None:
    # Before: accepted; at the first call needing approval it raised inside the gate, which
    # counts as a denial, so every such call was denied without saying why.
    from dispatcher.errors import ConfigError

    with pytest.raises(ConfigError, match="approve") as caught:
        _mail_run(approve)  # type: ignore[arg-type]
    assert caught.value.fix


@pytest.mark.parametrize(
    "make",
    [
        lambda: Approval("denied"),  # type: ignore[arg-type]
        lambda: Approval("yes"),  # type: ignore[arg-type]
        lambda: Approval.deny(5),  # type: ignore[arg-type]
        lambda: Approval.edit("to=bob"),  # type: ignore[arg-type]
        lambda: Approval.edit(None),  # type: ignore[arg-type]
        lambda: Approval("edit"),
        # Not JSON data: the call's record could not be written and the run ended.
        lambda: Approval.edit({"to": b"bob", "body": "hi"}),
        lambda: Approval.edit({"to": object(), "body": "hi"}),
        lambda: Approval.edit({"to": float("nan"), "body": "hi"}),
        lambda: Approval.edit({1: "bob"}),
    ],
)
def test_a_malformed_approval_is_a_config_error_when_made(make: Any) -> None:
    from dispatcher import ConfigError

    with pytest.raises(ConfigError, match="Approval"):
        make()


def test_an_approval_with_an_unknown_decision_never_runs_the_call() -> None:
    # Built around the checks (as a subclass or a copy might): the gate still fails closed.
    odd = object.__new__(Approval)
    object.__setattr__(odd, "decision", "denied")
    object.__setattr__(odd, "arguments", None)
    object.__setattr__(odd, "reason", "")

    async def approve(request: ApprovalRequest) -> Approval:
        return odd

    result = _mail_run(approve)
    assert sent == []
    decided = _events(result, ApprovalEvent)[-1]
    assert decided.decision == "deny"


def test_a_plain_function_approver_decides_like_an_async_one() -> None:
    result = _mail_run(lambda request: True)
    assert sent == ["bob@example.com"]
    assert _events(result, ApprovalEvent)[-1].decision == "approve"
    sent.clear()
    _mail_run(lambda request: Approval.deny("not today"))
    assert sent == []


def test_a_plain_function_approver_that_blocks_is_denied_at_the_timeout() -> None:
    import threading

    release = threading.Event()

    def stuck(request: ApprovalRequest) -> bool:
        release.wait(10)  # a person who never answers (input() on a terminal)
        return True

    try:
        result = _mail_run(stuck, dispatcher={"approval_timeout_s": 0.2})
    finally:
        release.set()
    assert sent == []
    decided = _events(result, ApprovalEvent)[-1]
    assert (decided.decision, decided.decided_by) == ("deny", "timeout")
    assert decided.wait_ms < 5_000


def test_the_terminal_prompt_is_denied_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys
    import threading

    from rich.console import Console

    from dispatcher.cli._approve import cli_approver

    release = threading.Event()

    def no_answer(prompt: str = "") -> str:
        release.wait(10)
        return "y"

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", no_answer)
    ask = cli_approver(False, False, Console(file=io.StringIO()))
    try:
        result = _mail_run(ask, dispatcher={"approval_timeout_s": 0.2})
    finally:
        release.set()
    assert sent == []
    decided = _events(result, ApprovalEvent)[-1]
    assert (decided.decision, decided.decided_by) == ("deny", "timeout")
    assert decided.wait_ms < 5_000


def test_an_approver_editing_in_values_that_are_not_json_denies_instead_of_crashing() -> None:
    async def approve(request: ApprovalRequest) -> Approval:
        return Approval.edit({"to": b"bob@example.com", "body": "hi"})

    result = _mail_run(approve)
    assert sent == []
    assert _events(result, ApprovalEvent)[-1].decision == "deny"
