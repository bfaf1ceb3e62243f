"""Agents declared in files: YAML, or Markdown with YAML front matter and the instructions below."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dispatcher.agent import DEFAULT_INPUT_SCHEMA, Agent
from dispatcher.errors import ConfigError

__all__ = ["load_agent_file"]

_FIELDS = {
    "name",
    "description",
    "instructions",
    "model",
    "tier",
    "tools",
    "detectors",
    "escalation",
    "budgets",
    "input_schema",
    "role",
}


def _split_front_matter(text: str, path: Path) -> tuple[str, str]:
    if not text.startswith("---"):
        raise ConfigError(
            "a Markdown agent file must start with '---' front matter",
            file=path,
            fix="put name, description, tier and tools between two '---' lines, then instructions",
        )
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise ConfigError("front matter is not closed with a '---' line", file=path)
    header = parts[0][3:]
    body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    return header, body.strip()


def load_agent_file(path: str | Path) -> Agent:
    """Read one agent definition (`.md`, `.yaml` or `.yml`)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            "agent file not found", file=file, fix="check the path in dispatcher.agents"
        )
    text = file.read_text(encoding="utf-8")
    body = ""
    if file.suffix.lower() in {".md", ".markdown"}:
        header, body = _split_front_matter(text, file)
    elif file.suffix.lower() in {".yaml", ".yml"}:
        header = text
    else:
        raise ConfigError(
            f"unsupported agent file type {file.suffix!r}", file=file, fix="use .md or .yaml"
        )
    import yaml  # loaded with the first file, not with the package

    try:
        data: Any = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"front matter is not valid YAML: {exc}", file=file) from None
    if not isinstance(data, Mapping):
        raise ConfigError("the agent definition must be a mapping", file=file)
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ConfigError(
            f"unknown field {unknown[0]!r}",
            file=file,
            field=unknown[0],
            fix=f"use any of: {', '.join(sorted(_FIELDS))}",
        )
    for required in ("name", "description"):
        if not data.get(required):
            raise ConfigError(f"missing {required!r}", file=file, field=required, fix="add it")
    tools = data.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ConfigError(
            "tools must be a list of tool names",
            file=file,
            field="tools",
            fix="e.g. [sql.run_query]",
        )
    instructions = body or str(data.get("instructions") or "")
    detectors = data.get("detectors")
    if isinstance(detectors, str):  # `detectors: coding` names a shipped profile
        detectors = {"profile": detectors}
    if detectors is not None:
        from dispatcher.detectors import DetectorSettings

        DetectorSettings.from_mapping(detectors, source=file)  # mistakes named at load time
    try:
        return Agent(
            name=str(data["name"]),
            description=str(data["description"]),
            instructions=instructions,
            model=data.get("model"),
            tier=data.get("tier"),
            tools=tools,
            detectors=detectors,
            escalation=data.get("escalation"),
            budgets=data.get("budgets"),
            input_schema=data.get("input_schema") or DEFAULT_INPUT_SCHEMA,
            role=data.get("role", "specialist"),
            source=str(file),
        )
    except ConfigError as exc:
        raise ConfigError(str(exc), file=file) from None
