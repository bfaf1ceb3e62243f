"""Human approval of tool calls: who decides, what they can decide, and how long we wait.

A tool needs approval when it says so (`@tool(requires_approval=True)`, an MCP server's
`requires_approval`), when its agent lists it (`Agent.requires_approval`) or when the registry
does (`dispatcher.requires_approval`). Before such a call runs, the run's approver is asked;
no approver, an error in it, or no answer within the timeout all deny the call.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import anyio

from dispatcher.errors import ConfigError
from dispatcher.redaction import redact
from dispatcher.tools.tool import Tool, ToolOutput
from dispatcher.trace.events import ApprovalEvent
from dispatcher.trace.tracer import Tracer

__all__ = ["Approval", "ApprovalRequest", "Approver", "approve_all", "deny_all", "mark_approvals"]


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What the human sees: which agent wants to call which tool, with which arguments."""

    run_id: str
    agent: str
    tool: str
    call_id: str
    arguments: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Approval:
    """A decision. Use `Approval.approve()`, `Approval.deny(reason)` or `Approval.edit(args)`."""

    decision: Literal["approve", "deny", "edit"]
    arguments: Mapping[str, Any] | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        # A misspelt decision ("denied", "yes") must not fall through to running the call.
        if self.decision not in _DECISIONS:
            raise ConfigError(
                f"Approval decision must be one of {', '.join(_DECISIONS)}, got "
                f"{repr(self.decision)[:100]}",
                field="decision",
                fix="use Approval.approve(), Approval.deny(reason) or Approval.edit(arguments)",
            )
        if not isinstance(self.reason, str):
            raise ConfigError(
                f"Approval reason must be text, got {type(self.reason).__name__}",
                field="reason",
                fix="pass the reason as a str, e.g. Approval.deny('over budget')",
            )
        if self.decision == "edit" and not _is_json_object(self.arguments):
            raise ConfigError(
                "Approval.edit needs the call's new arguments as a mapping of JSON data (text "
                f"keys; text, numbers, booleans, null, lists, mappings), got "
                f"{repr(self.arguments)[:100]}",
                field="arguments",
                fix="pass a dict of the tool's arguments, e.g. Approval.edit({'to': 'bob'})",
            )

    @classmethod
    def approve(cls) -> Approval:
        return cls("approve")

    @classmethod
    def deny(cls, reason: str = "") -> Approval:
        return cls("deny", reason=reason)

    @classmethod
    def edit(cls, arguments: Mapping[str, Any], reason: str = "") -> Approval:
        return cls(
            "edit",
            arguments=dict(arguments) if isinstance(arguments, Mapping) else arguments,
            reason=reason,
        )


_DECISIONS = ("approve", "deny", "edit")


def _is_json_object(arguments: object) -> bool:
    """A mapping JSON can write as the call's arguments (as the model's own would be)."""
    if not isinstance(arguments, Mapping) or not all(isinstance(k, str) for k in arguments):
        return False
    try:
        json.dumps(dict(arguments), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


# True approves, False denies; an Approval can also edit the arguments. A plain (non-async)
# function is accepted too at run time (see `_answer`).
Approver = Callable[[ApprovalRequest], Awaitable[Approval | bool]]


async def approve_all(request: ApprovalRequest) -> Approval:
    """Approves every call (`--approve-all`)."""
    return Approval.approve()


async def deny_all(request: ApprovalRequest) -> Approval:
    """Denies every call (`--deny-all`)."""
    return Approval.deny("every approval is denied (--deny-all)")


def mark_approvals(tools: Sequence[Tool], names: Iterable[str]) -> list[Tool]:
    """The tools, with `requires_approval` set on those named (registry or wire name)."""
    wanted = set(names)
    if not wanted:
        return list(tools)
    return [
        replace(t, requires_approval=True)
        if not t.requires_approval and (t.name in wanted or t.wire_name in wanted)
        else t
        for t in tools
    ]


@dataclass
class ApprovalGate:
    """Asks the run's approver about one call at a time and traces every request and decision."""

    approver: Approver | None
    timeout_s: float = 300.0
    # One question at a time: concurrent agents must not interleave prompts to one human.
    _lock: anyio.Lock = field(default_factory=anyio.Lock)

    async def check(
        self,
        tool: Tool,
        call_id: str,
        arguments: dict[str, Any],
        *,
        agent: str,
        tracer: Tracer,
        parent_id: str | None,
    ) -> tuple[dict[str, Any], ToolOutput | None]:
        """The arguments to run with, or the error result the model gets instead."""
        common = {
            "parent_id": parent_id,
            "agent": agent,
            "tool": tool.wire_name,
            "call_id": call_id,
        }
        tracer.emit(ApprovalEvent, stage="requested", arguments=arguments, **common)
        started = time.perf_counter()
        decided_by: Literal["approver", "timeout", "no_approver"] = "approver"
        request = ApprovalRequest(
            run_id=tracer.run_id,
            agent=agent,
            tool=tool.name,
            call_id=call_id,
            arguments=dict(arguments),
            description=tool.description,
        )
        decision: Approval
        if self.approver is None:
            decided_by = "no_approver"
            decision = Approval.deny("no approver is set for this run")
        else:
            decision = await self._ask(request)
            if decision.reason == _TIMED_OUT:
                decided_by = "timeout"
        edited = (
            dict(decision.arguments)
            if decision.decision == "edit" and decision.arguments is not None
            else None
        )
        tracer.emit(
            ApprovalEvent,
            stage="decided",
            decision=decision.decision,
            edited_arguments=edited,
            decided_by=decided_by,
            reason=redact(decision.reason)[:500],
            wait_ms=(time.perf_counter() - started) * 1000,
            **common,
        )
        if decision.decision == "deny":
            why = f": {decision.reason}" if decision.reason else ""
            return arguments, ToolOutput(
                f"Error: a human denied this call to {tool.wire_name}{why}. Do not retry it "
                "unchanged; continue without it or explain what you needed.",
                is_error=True,
            )
        return (edited if edited is not None else arguments), None

    async def _ask(self, request: ApprovalRequest) -> Approval:
        assert self.approver is not None
        async with self._lock:
            try:
                with anyio.fail_after(self.timeout_s):
                    answer = await _answer(self.approver, request)
            except TimeoutError:
                return Approval.deny(_TIMED_OUT)
            except Exception as exc:  # a broken approver denies; it never crashes the run
                return Approval.deny(f"the approver failed ({type(exc).__name__})")
        if answer is True:
            return Approval.approve()
        if answer is False:
            return Approval.deny()
        if isinstance(answer, Approval):
            if answer.decision not in _DECISIONS or not isinstance(answer.reason, str):
                return Approval.deny("the approver's Approval was malformed")
            if answer.decision == "edit" and not _is_json_object(answer.arguments):
                return Approval.deny("the approver's edit had no arguments")
            return answer
        return Approval.deny(f"the approver returned {type(answer).__name__}, not an Approval")


_TIMED_OUT = "no decision in time"


async def _answer(
    approver: Callable[[ApprovalRequest], object], request: ApprovalRequest
) -> object:
    """The approver's answer. A plain function may block (a person at input()): it runs in a
    worker thread, abandoned at the timeout, so the timeout still decides."""
    # An object whose __call__ is async counts as async too.
    if inspect.iscoroutinefunction(approver) or inspect.iscoroutinefunction(
        type(approver).__call__
    ):
        answer: object = approver(request)
    else:
        answer = await anyio.to_thread.run_sync(approver, request, abandon_on_cancel=True)
    if inspect.isawaitable(answer):
        answer = await answer
    return answer
