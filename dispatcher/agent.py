"""Agents (specialists): what the dispatcher delegates to."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from dispatcher.budgets import Budgets
from dispatcher.errors import ConfigError
from dispatcher.escalation.settings import EscalationSettings
from dispatcher.gates import Gate, check_gate
from dispatcher.mcp._config import MCPServerConfig, parse_mcp_servers
from dispatcher.tools.tool import Tool

__all__ = ["DEFAULT_INPUT_SCHEMA", "Agent"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")

DEFAULT_INPUT_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "task": {
            "type": "string",
            "description": "The self-contained sub-task for this specialist.",
        }
    },
    "required": ["task"],
    "additionalProperties": False,
}


@dataclass(eq=False)
class Agent:
    """A specialist: a name and description the dispatcher sees, a model or tier, and tools.

    `tools` holds `Tool` objects or registry names such as ``sql.run_query`` (or ``sql`` for a
    whole toolkit). `detectors` and `escalation` override the registry's defaults.
    """

    name: str
    description: str
    instructions: str = ""
    model: str | None = None
    tier: str | None = None
    tools: Sequence[Tool | str] = ()
    detectors: Mapping[str, Any] | str | None = None
    escalation: EscalationSettings | Mapping[str, Any] | None = None
    budgets: Budgets | Mapping[str, Any] | None = None
    input_schema: Mapping[str, Any] = field(default_factory=lambda: DEFAULT_INPUT_SCHEMA)
    gate: Gate | None = None
    role: Literal["specialist", "overwatch"] = "specialist"
    mcp_servers: Sequence[MCPServerConfig | Mapping[str, Any]] = ()
    requires_approval: Sequence[str] = ()
    source: str = "code"

    def __post_init__(self) -> None:
        where = f"agent {self.name!r} ({self.source})"
        self._check_types(where)
        if self.input_schema is not DEFAULT_INPUT_SCHEMA:
            _check_input_schema(self.input_schema, where)
        if not _NAME.match(self.name):
            raise ConfigError(
                f"invalid agent name {self.name!r}",
                entry=where,
                fix="use letters, digits, '_' or '-', starting with a letter (max 64)",
            )
        if not self.description.strip():
            raise ConfigError(
                "an agent needs a description: it is what the dispatcher reads to choose it",
                entry=where,
                field="description",
                fix="describe in one sentence what tasks this agent handles",
            )
        if self.gate is not None:
            check_gate(self.gate, where=where)
        if self.role not in ("specialist", "overwatch"):
            raise ConfigError(
                f"unknown role {self.role!r}",
                entry=where,
                field="role",
                fix="use specialist or overwatch",
            )
        if self.tier is not None and self.tier not in ("strong", "weak", "specialist"):
            raise ConfigError(
                f"unknown tier {self.tier!r}", entry=where, field="tier", fix="use strong or weak"
            )
        if isinstance(self.escalation, Mapping):
            try:
                self.escalation = EscalationSettings.model_validate(self.escalation)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise ConfigError(
                    first["msg"],
                    entry=where,
                    field="escalation." + ".".join(str(p) for p in first["loc"]),
                    fix="see docs/configuration.md#escalation",
                ) from None
        if self.detectors is not None:  # checked now, not at the first step of a run
            from dispatcher.detectors import DetectorSettings

            DetectorSettings.from_mapping(self.detectors, source=where)
        if isinstance(self.budgets, Mapping):
            self.budgets = Budgets.from_mapping(self.budgets, where=f"{where} budgets")
        self.mcp_servers = parse_mcp_servers(self.mcp_servers, where=where)
        if isinstance(self.requires_approval, str) or not all(
            isinstance(n, str) for n in self.requires_approval
        ):
            raise ConfigError(
                "requires_approval must be a list of tool names",
                entry=where,
                field="requires_approval",
                fix="e.g. requires_approval: [files.delete]",
            )
        self.requires_approval = tuple(self.requires_approval)

    def _check_types(self, where: str) -> None:
        """Arguments given from Python are checked like a file's: a wrong type is a ConfigError."""
        texts = (
            ("name", self.name),
            ("description", self.description),
            ("instructions", self.instructions),
        )
        for name, value in texts:
            if not isinstance(value, str):
                raise ConfigError(
                    f"{name} must be text, got {type(value).__name__}",
                    entry=where,
                    field=name,
                    fix=f"pass {name} as a str",
                )
        for key, choice in (("model", self.model), ("tier", self.tier)):
            if choice is not None and not isinstance(choice, str):
                raise ConfigError(
                    f"{key} must be a name (text) or None, got {type(choice).__name__}",
                    entry=where,
                    field=key,
                    fix=f"pass {key} as a str, e.g. tier='weak'",
                )
        if isinstance(self.tools, str | bytes) or not isinstance(self.tools, Sequence):
            raise ConfigError(
                f"tools must be a list, got {type(self.tools).__name__}",
                entry=where,
                field="tools",
                fix="e.g. tools=[my_tool, 'sql.run_query'] (a list, even for one tool)",
            )
        for item in self.tools:
            if not isinstance(item, Tool | str):
                hint = (
                    f"decorate {getattr(item, '__name__', 'the function')} with @tool"
                    if callable(item)
                    else "list Tool objects (made with @tool) or registered tool names"
                )
                raise ConfigError(
                    f"{item!r} in tools is not a Tool or a tool name",
                    entry=where,
                    field="tools",
                    fix=hint,
                )

    @property
    def escalation_settings(self) -> EscalationSettings | None:
        return self.escalation if isinstance(self.escalation, EscalationSettings) else None

    @property
    def budget_limits(self) -> Budgets | None:
        return self.budgets if isinstance(self.budgets, Budgets) else None

    @property
    def mcp_configs(self) -> tuple[MCPServerConfig, ...]:
        return tuple(s for s in self.mcp_servers if isinstance(s, MCPServerConfig))

    @property
    def tool_names(self) -> list[str]:
        return [t.name if isinstance(t, Tool) else t for t in self.tools]


def _check_input_schema(schema: Any, where: str) -> None:
    """What the dispatcher model fills in to delegate: a valid JSON Schema of an object."""
    from jsonschema import Draft202012Validator  # ~0.1 s: only for a custom schema
    from jsonschema.exceptions import SchemaError

    problem = None
    if not isinstance(schema, Mapping):
        problem = f"must be a mapping (a JSON Schema), got {type(schema).__name__}"
    elif schema.get("type") != "object":
        problem = f"must describe an object (type: object), got type {schema.get('type')!r}"
    else:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problem = f"is not a valid JSON Schema: {exc.message}"
        else:
            problem = _ref_problem(schema)
    if problem:
        raise ConfigError(
            f"input_schema {problem}",
            entry=where,
            field="input_schema",
            fix='e.g. {"type": "object", "properties": {"task": {"type": "string"}}, '
            '"required": ["task"]}',
        )


def _ref_problem(schema: Mapping[str, Any]) -> str | None:
    """Why a `$ref` of the schema cannot be followed (None if every one can): only pointers
    into the schema itself (``#/$defs/...``, as pydantic writes them) are resolved; a URL or
    a file would be fetched by nobody and fail at the first choice."""
    for ref in _refs(schema):
        if not ref.startswith("#"):
            return f"has $ref {ref!r} outside the schema: only '#/...' pointers into it work"
        if not _points_to_something(schema, ref):
            return f"has $ref {ref!r}, which points at nothing in the schema"
    return None


def _refs(node: Any) -> list[str]:
    found: list[str] = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, Mapping):
            if isinstance(current.get("$ref"), str):
                found.append(current["$ref"])
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return found


def _points_to_something(schema: Mapping[str, Any], ref: str) -> bool:
    node: Any = schema
    for raw in [p for p in ref[1:].split("/") if p]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True
