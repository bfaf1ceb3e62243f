"""Runs a model's tool calls: parse, look up, validate, execute, cap, trace.

Nothing a model sends can crash the run: malformed JSON, unknown tools and schema-invalid
arguments become tool errors (counted against one cap per run); a tool that raises or times
out becomes an error result. Results are cached by (run id, call id), so a retried or resumed
step never repeats a side effect.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from dispatcher._model_json import loads_model_json
from dispatcher.detectors.base import Step
from dispatcher.errors import ToolErrorCapExceeded
from dispatcher.messages import ToolCall, ToolResultMessage
from dispatcher.redaction import clip, has_registered_secret, redact, redact_registered
from dispatcher.tools._timeout import await_with_timeout
from dispatcher.tools.tool import Tool, ToolContext, ToolOutput
from dispatcher.trace.events import ToolCallEvent
from dispatcher.trace.tracer import Tracer

if TYPE_CHECKING:
    from dispatcher.approvals import ApprovalGate

__all__ = ["ToolExecution", "ToolExecutor", "ToolLimits", "tool_index"]

_TRACE_OUTPUT_CHARS = 2_000
_NO_SIGNALS: Mapping[str, Any] = MappingProxyType({})
_WITHHELD: dict[str, Any] = {"withheld": "[REDACTED]: the arguments held a secret of this process"}
# Error kinds that count against the per-run cap on invalid calls.
_INVALID_CALLS = frozenset(
    {"invalid_json", "unknown_tool", "invalid_arguments", "secret_in_arguments"}
)


@dataclass(frozen=True, slots=True)
class ToolLimits:
    """Per-run limits on tool use."""

    max_invalid_calls: int = 8
    max_output_chars: int = 16_000


_DEFAULT_LIMITS = ToolLimits()  # frozen: one instance serves every run without its own


@dataclass(slots=True)  # made per call; frozen would cost a setattr call per field
class ToolExecution:
    """The outcome of one call: the message for the model and the step for the detectors."""

    message: ToolResultMessage
    step: Step
    ok: bool


def _truncate(text: str, limit: int) -> tuple[str, int]:
    if len(text) <= limit:
        return text, 0
    head = limit * 3 // 4
    tail = limit - head
    dropped = len(text) - head - tail
    return f"{text[:head]}\n[... {dropped} characters truncated ...]\n{text[-tail:]}", dropped


def _to_output(value: Any) -> ToolOutput:
    if isinstance(value, ToolOutput):
        return value
    if isinstance(value, str):
        return ToolOutput(value)
    try:
        return ToolOutput(json.dumps(value, default=str, ensure_ascii=False))
    except (TypeError, ValueError):
        return ToolOutput(str(value))


class ToolExecutor:
    """Executes tool calls for one run (shared by every agent in it, so the cap is global)."""

    def __init__(
        self,
        tracer: Tracer,
        *,
        limits: ToolLimits | None = None,
        artifacts_dir: Path | None = None,
    ) -> None:
        self.tracer = tracer
        self.limits = limits or _DEFAULT_LIMITS
        self.artifacts_dir = artifacts_dir
        self.invalid_calls = 0
        self.calls = 0
        self.approvals: ApprovalGate | None = None  # the run's approver (Dispatcher.run)
        # Keyed by the whole call: a server that reuses ids for different calls gets no stale hit.
        self._cache: dict[ToolCall, ToolExecution] = {}
        # Made on first use: most runs call no synchronous tool (a relayed gateway request
        # calls none), and an anyio Lock costs a backend lookup to build.
        self._sync_tools: anyio.Lock | None = None

    async def execute(
        self,
        call: ToolCall,
        tools: Mapping[str, Tool],
        *,
        agent: str,
        step_index: int,
        parent_id: str | None,
        text: str = "",
    ) -> ToolExecution:
        """Run one call; every outcome is a `ToolExecution`, never an exception (but the cap)."""
        cached = self._cache.get(call)
        if cached is not None:
            self.tracer.emit(
                ToolCallEvent,
                parent_id=parent_id,
                agent=agent,
                tool=call.name,
                call_id=call.id,
                ok=cached.ok,
                output=clip(cached.message.content, _TRACE_OUTPUT_CHARS),
                cached=True,
            )
            return cached
        started = time.perf_counter()
        arguments: Any = None
        canonical: str | None = None  # the arguments as sorted JSON: one dump serves two uses
        error_kind: str | None = None
        tool = tools.get(call.name)
        output: ToolOutput
        try:
            arguments = loads_model_json(call.arguments) if call.arguments.strip() else {}
        except json.JSONDecodeError as exc:
            error_kind = "invalid_json"
            output = ToolOutput(
                f"Error: the arguments are not valid JSON ({exc.msg} at position {exc.pos}). "
                "Send a single JSON object.",
                is_error=True,
            )
        else:
            if tool is None:
                error_kind = "unknown_tool"
                known = ", ".join(sorted(tools)) or "none"
                output = ToolOutput(
                    f"Error: there is no tool named {call.name!r}. Available tools: {known}.",
                    is_error=True,
                )
            elif not isinstance(arguments, dict):
                error_kind = "invalid_arguments"
                output = ToolOutput("Error: arguments must be a JSON object.", is_error=True)
            elif has_registered_secret(canonical := _canonical_json(arguments)):
                # A key of this process never reaches a tool (exfiltration by a steered model).
                error_kind = "secret_in_arguments"
                # Nor does it reach the trace: the arguments are replaced (also encoded forms
                # that no pattern would redact on the way out).
                arguments, canonical = _WITHHELD, _canonical_json(_WITHHELD)
                output = ToolOutput(
                    "Error: the arguments contain a secret of this process; the call was refused.",
                    is_error=True,
                )
            else:
                problems = tool.validation_errors(arguments)
                if problems:
                    error_kind = "invalid_arguments"
                    output = ToolOutput(
                        "Error: invalid arguments for "
                        f"{call.name}: {'; '.join(problems[:5])}. Fix them and call again.",
                        is_error=True,
                    )
                elif tool.requires_approval:
                    # A human decides first; an edit is checked like the model's own arguments.
                    approved, output, error_kind = await self._approved(
                        tool, arguments, call, agent, parent_id
                    )
                    if approved is not arguments:
                        arguments, canonical = approved, None
                else:
                    output, error_kind = await self._run(tool, arguments, call, agent)
        if error_kind in _INVALID_CALLS:
            self.invalid_calls += 1
        self.calls += 1
        saved = ""
        if self.artifacts_dir is not None and len(output.content) > self.limits.max_output_chars:
            # Megabytes to disk: off the event loop.
            saved = await anyio.to_thread.run_sync(self._keep_out_of_band, call.id, output.content)
        execution = self._finish(
            call,
            arguments,
            output,
            error_kind,
            agent,
            step_index,
            parent_id,
            text,
            started,
            canonical,
            saved,
            tool,
        )
        self._cache[call] = execution
        self._check_cap()
        return execution

    def refuse(
        self,
        call: ToolCall,
        message: str,
        *,
        agent: str,
        step_index: int,
        parent_id: str | None,
        text: str = "",
    ) -> ToolExecution:
        """A call its caller checked and found invalid (the worker's own `escalate`): traced
        and counted against the cap like any invalid call, so a model repeating it stops."""
        started = time.perf_counter()
        self.invalid_calls += 1
        self.calls += 1
        output = ToolOutput(message, is_error=True)
        execution = self._finish(
            call, None, output, "invalid_arguments", agent, step_index, parent_id, text, started
        )
        self._check_cap()
        return execution

    def _check_cap(self) -> None:
        if self.invalid_calls > self.limits.max_invalid_calls:
            raise ToolErrorCapExceeded(
                f"the model made {self.invalid_calls} invalid tool calls in this run "
                f"(cap {self.limits.max_invalid_calls})",
                events=self.tracer.events,
            )

    async def _approved(
        self,
        tool: Tool,
        arguments: dict[str, Any],
        call: ToolCall,
        agent: str,
        parent_id: str | None,
    ) -> tuple[dict[str, Any], ToolOutput, str | None]:
        from dispatcher.approvals import ApprovalGate

        gate = self.approvals or ApprovalGate(None)  # no approver: every such call is denied
        approved, refused = await gate.check(
            tool, call.id, arguments, agent=agent, tracer=self.tracer, parent_id=parent_id
        )
        if refused is not None:
            return arguments, refused, "denied"
        if approved is not arguments:
            problems = tool.validation_errors(approved)
            if problems:
                message = f"Error: the approver's edited arguments are invalid: {problems[0]}"
                return approved, ToolOutput(message, is_error=True), "invalid_arguments"
        output, error_kind = await self._run(tool, approved, call, agent)
        return approved, output, error_kind

    async def _run(
        self, tool: Tool, arguments: dict[str, Any], call: ToolCall, agent: str
    ) -> tuple[ToolOutput, str | None]:
        context = ToolContext(run_id=self.tracer.run_id, agent=agent, call_id=call.id)
        try:
            if not tool.is_async:
                # A sync function may block (a pipe, a device, a stuck disk): it runs in a
                # worker thread, so the event loop, the tool timeout and the run's wall_s stay
                # in charge. At the timeout the call returns; the thread is abandoned.
                # One at a time per run: sync tools ran inline before, so parallel agents
                # still see them in a deterministic order (the same cassette, the same trace).
                if self._sync_tools is None:
                    self._sync_tools = anyio.Lock()
                async with self._sync_tools:
                    with anyio.fail_after(tool.timeout_s):
                        value = await anyio.to_thread.run_sync(
                            functools.partial(tool.call, arguments, context),
                            abandon_on_cancel=True,
                        )
                if inspect.isawaitable(value):
                    value = await self._await(value, tool.timeout_s)
            elif tool.timeout_s is None:
                value = await tool.invoke(arguments, context)
            else:
                value = await self._await(tool.call(arguments, context), tool.timeout_s)
        except TimeoutError:
            return (
                ToolOutput(
                    f"Error: {call.name} timed out after {tool.timeout_s:g}s.", is_error=True
                ),
                "timeout",
            )
        except Exception as exc:  # a tool's failure is a result for the model, never a crash
            message = redact(f"{type(exc).__name__}: {exc}")
            return ToolOutput(f"Error: {call.name} failed: {message}", is_error=True), "raised"
        return _to_output(value), None

    @staticmethod
    async def _await(value: Awaitable[Any], timeout_s: float | None) -> Any:
        if timeout_s is None:
            return await value
        if inspect.iscoroutine(value):
            return await await_with_timeout(value, timeout_s)
        return await await_with_timeout(_started(value), timeout_s)

    def _finish(
        self,
        call: ToolCall,
        arguments: Any,
        output: ToolOutput,
        error_kind: str | None,
        agent: str,
        step_index: int,
        parent_id: str | None,
        text: str,
        started: float,
        canonical: str | None = None,
        saved: str = "",
        tool: Tool | None = None,
    ) -> ToolExecution:
        # Registered keys never enter a model's context, whatever a tool read.
        full = redact_registered(output.content)
        content, dropped = _truncate(full, self.limits.max_output_chars)
        if dropped:
            content += saved
        ok = not output.is_error
        # A copy the tool cannot change later; most calls have none and share one empty view.
        signals = dict(output.signals) if output.signals else _NO_SIGNALS
        # The event gets a plain dict: the trace serializer knows dicts, not read-only views.
        event_signals = signals if signals is not _NO_SIGNALS else {}
        self.tracer.emit(
            ToolCallEvent,
            parent_id=parent_id,
            agent=agent,
            tool=call.name,
            call_id=call.id,
            arguments=arguments if arguments is not None else call.arguments,
            ok=ok,
            error=clip(content, _TRACE_OUTPUT_CHARS) if not ok else None,
            error_kind=error_kind or ("tool_error" if not ok else None),
            output=clip(content, _TRACE_OUTPUT_CHARS),
            output_bytes=len(output.content),
            signals=event_signals,
            duration_ms=(time.perf_counter() - started) * 1000,
            source=tool.source if tool is not None else None,
        )
        if canonical is not None:
            action_args = canonical
        elif isinstance(arguments, dict):
            action_args = _canonical_json(arguments)
        else:
            action_args = call.arguments
        step = Step(
            index=step_index,
            action=f"{call.name}({action_args})",
            observation=content,
            error=not ok,
            tool=call.name,
            # Not the parsed dict: `action` holds the same arguments as canonical JSON, and
            # a live run keeps every step (a dict per step is a tenth of its memory).
            text=text,
            signals=signals,
        )
        message = ToolResultMessage(call.id, call.name, content, is_error=not ok)
        return ToolExecution(message=message, step=step, ok=ok)

    def _keep_out_of_band(self, call_id: str, full: str) -> str:
        assert self.artifacts_dir is not None
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in call_id)
        path = self.artifacts_dir / f"{safe}.txt"
        path.write_text(redact(full), encoding="utf-8")
        return f"\n[full output ({len(full)} characters) saved to {path}]"


async def _started(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


# One encoder for every call: `json.dumps` with options builds a new one each time (half the
# cost of encoding a small argument object).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def _canonical_json(arguments: dict[str, Any]) -> str:
    return _CANONICAL.encode(arguments)


def tool_index(tools: Sequence[Tool]) -> dict[str, Tool]:
    """Tools by the name the model uses."""
    return {t.wire_name: t for t in tools}
