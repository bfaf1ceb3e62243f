"""The dispatcher's structured choice: a JSON Schema generated from the registered specialists."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatcher._model_json import loads_model_json
from dispatcher.agent import Agent
from dispatcher.messages import (
    AssistantMessage,
    Message,
    ModelResponse,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from dispatcher.tools._fast_schema import compile_fast_check

__all__ = ["Choice", "ChoiceSchema", "read_choices", "reask_messages", "result_messages"]


@dataclass(frozen=True, slots=True)
class Choice:
    """A validated delegation: which specialist, with which arguments."""

    tool: str
    arguments: Mapping[str, Any]

    @property
    def task_text(self) -> str:
        """The specialist's task: `task` if present, plus any other arguments as context."""
        task = str(self.arguments.get("task", ""))
        extra = {k: v for k, v in self.arguments.items() if k != "task"}
        if extra:
            task = f"{task}\n\nInputs: {json.dumps(extra, ensure_ascii=False)}".strip()
        return task


class ChoiceSchema:
    """``{"tool": <specialist>, "arguments": {...}}`` per specialist, checked with jsonschema."""

    def __init__(self, specialists: Sequence[Agent]) -> None:
        self.specialists = {a.name: a for a in specialists}
        self.schema: dict[str, Any] = {
            "type": "object",
            "oneOf": [
                {
                    "properties": {
                        "tool": {"const": agent.name},
                        "arguments": _rooted(
                            agent.input_schema, f"#/oneOf/{index}/properties/arguments"
                        ),
                    },
                    "required": ["tool", "arguments"],
                    "additionalProperties": False,
                }
                for index, agent in enumerate(specialists)
            ],
        }
        from jsonschema import Draft202012Validator  # ~0.1 s: not at `import dispatcher` time

        self._validator = Draft202012Validator(self.schema)
        self._argument_validators = {
            a.name: Draft202012Validator(dict(a.input_schema)) for a in specialists
        }
        self._fast_checks = {
            a.name: check
            for a in specialists
            if (check := compile_fast_check(dict(a.input_schema))) is not None
        }

    @property
    def names(self) -> list[str]:
        return list(self.specialists)

    def tool_specs(self) -> list[ToolSpec]:
        """Specialists as provider-native tools (the names the model calls)."""
        return [
            ToolSpec(a.name, a.description, dict(a.input_schema)) for a in self.specialists.values()
        ]

    def validate(self, data: Any) -> Choice | str:
        """A `Choice`, or an error message precise enough for the model to fix its output."""
        if self._certainly_valid(data) or self._validator.is_valid(data):
            choice = Choice(data["tool"], data["arguments"])
            if not choice.task_text.strip():
                # The specialist would start on an empty message (which Anthropic refuses).
                return f"the task for {choice.tool} is empty; write the sub-task it should do"
            return choice
        if not isinstance(data, Mapping):
            return 'the choice must be a JSON object {"tool": ..., "arguments": {...}}'
        tool = data.get("tool")
        if tool not in self.specialists:
            return f"unknown specialist {tool!r}; choose one of: {', '.join(self.names)}"
        if "arguments" not in data:
            return "missing 'arguments'"
        errors = sorted(
            self._argument_validators[str(tool)].iter_errors(data["arguments"]),
            key=lambda e: list(e.path),
        )
        if errors:
            return "; ".join(
                f"arguments/{'/'.join(str(p) for p in e.path)}: {e.message}" for e in errors[:5]
            )
        extra = sorted(set(data) - {"tool", "arguments"})
        return f"unexpected key(s): {', '.join(extra)}" if extra else "invalid choice"

    def _certainly_valid(self, data: Any) -> bool:
        # One oneOf branch per specialist, told apart by the const tool name: a choice is
        # valid exactly when its own branch is, which the fast check can confirm cheaply.
        if type(data) is not dict or len(data) != 2 or "arguments" not in data:
            return False
        tool = data.get("tool")
        check = self._fast_checks.get(tool) if type(tool) is str else None
        return check is not None and check(data["arguments"])

    def parse_json_text(self, text: str) -> Any:
        """The JSON object in a model's text output (tolerates a ```json fence)."""
        stripped = text.strip()
        if stripped.startswith("```"):
            stripped = stripped.strip("`")
            stripped = stripped[4:] if stripped.startswith("json") else stripped
        start, end = stripped.find("{"), stripped.rfind("}")
        if start < 0 or end < start:
            raise ValueError("no JSON object in the output")
        return loads_model_json(stripped[start : end + 1])


def _rooted(schema: Any, at: str) -> Any:
    """`schema` with its own pointers (``#/$defs/...``) rewritten for where it is embedded:
    in the choice schema they would resolve against the choice schema's root."""
    if isinstance(schema, Mapping):
        return {
            key: (at + value[1:])
            if key == "$ref" and isinstance(value, str) and value.startswith("#")
            else _rooted(value, at)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rooted(item, at) for item in schema]
    return schema


def read_choices(
    response: ModelResponse, schema: ChoiceSchema, *, native: bool
) -> tuple[list[tuple[str, Choice]], list[tuple[str, str, str]], str | None]:
    """Split a response into valid choices, invalid ones (id, raw, error) and a final answer."""
    choices: list[tuple[str, Choice]] = []
    errors: list[tuple[str, str, str]] = []
    if response.tool_calls:
        for call in response.tool_calls:
            raw = json.dumps({"tool": call.name, "arguments": call.arguments})
            try:
                arguments = loads_model_json(call.arguments or "{}")
            except json.JSONDecodeError as exc:
                errors.append((call.id, raw, f"arguments are not valid JSON ({exc.msg})"))
                continue
            checked = schema.validate({"tool": call.name, "arguments": arguments})
            if isinstance(checked, str):
                errors.append((call.id, raw, checked))
            else:
                choices.append((call.id, checked))
        return choices, errors, None
    if native:
        return [], [], response.text
    try:
        data = schema.parse_json_text(response.text)
    except ValueError as exc:
        return [], [("json", response.text, f"not a JSON object: {exc}")], None
    if isinstance(data, Mapping) and set(data) == {"final_answer"}:
        return [], [], str(data["final_answer"])
    checked = schema.validate(data)
    if isinstance(checked, str):
        return [], [("json", response.text, checked)], None
    return [("json", checked)], [], None


def reask_messages(
    response: ModelResponse, errors: list[tuple[str, str, str]], native: bool
) -> list[Message]:
    """Tell the model what was wrong with its choice so it can correct it."""
    if native and response.tool_calls:
        results: list[Message] = [response.to_message()]
        results += [
            ToolResultMessage(call_id, "dispatcher", f"Error: invalid choice: {error}", True)
            for call_id, _, error in errors
        ]
        return results
    error = errors[-1][2]
    return [
        AssistantMessage(text=response.text),
        UserMessage(f"Your output was not a valid choice: {error}. Reply with valid JSON only."),
    ]


def result_messages(
    response: ModelResponse,
    choices: list[tuple[str, Choice]],
    errors: list[tuple[str, str, str]],
    results: list[str],
    *,
    native: bool,
) -> list[Message]:
    """The delegations' results, as the dispatcher model will read them next turn."""
    if native and response.tool_calls:
        messages: list[Message] = [response.to_message()]
        by_id = {call_id: result for (call_id, _), result in zip(choices, results, strict=True)}
        for call in response.tool_calls:
            if call.id in by_id:
                messages.append(ToolResultMessage(call.id, call.name, by_id[call.id]))
            else:
                error = next(e for cid, _, e in errors if cid == call.id)
                messages.append(ToolResultMessage(call.id, call.name, f"Error: {error}", True))
        return messages
    choice = choices[0][1]
    return [
        AssistantMessage(text=response.text),
        UserMessage(f"Result from {choice.tool}:\n{results[0]}"),
    ]
