"""Agents declared in files: YAML, or Markdown with YAML front matter and the instructions below."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dispatcher._did_you_mean import did_you_mean
from dispatcher._strict_yaml import load_user_yaml
from dispatcher._user_files import read_user_text
from dispatcher.agent import DEFAULT_INPUT_SCHEMA, Agent
from dispatcher.errors import ConfigError
from dispatcher.registry._validation import config_error, yaml_error

__all__ = ["allowed_agent_fields", "load_agent_file"]

# Fields only code can set: a gate is a Python object, the source is where the agent came from.
_CODE_ONLY = frozenset({"gate", "source"})


def allowed_agent_fields() -> frozenset[str]:
    """Keys an agent file may set: read from `Agent` itself, so a new field needs no list here."""
    return frozenset(f.name for f in dataclasses.fields(Agent)) - _CODE_ONLY


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
    text = read_user_text(file)
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
        data: Any = load_user_yaml(header) or {}
    except yaml.YAMLError as exc:
        raise yaml_error(exc, file, what="agent definition") from None
    if not isinstance(data, Mapping):
        raise ConfigError(
            "the agent definition must be a mapping",
            file=file,
            fix="write `name: ...`, `description: ...` and the other fields as `key: value` lines",
        )
    allowed = allowed_agent_fields()
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown field {unknown[0]!r}",
            file=file,
            field=unknown[0],
            fix=did_you_mean(unknown[0], allowed)
            + f"check its spelling or remove it; the fields are: {', '.join(sorted(allowed))}",
        )
    for required in ("name", "description"):
        if not data.get(required):
            raise ConfigError(
                f"missing {required!r}", file=file, field=required, fix=f"add `{required}: ...`"
            )
    tools = data.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ConfigError(
            "tools must be a list of tool names",
            file=file,
            field="tools",
            fix="e.g. [sql.run_query]",
        )
    if isinstance(data.get("detectors"), str):  # `detectors: coding` names a shipped profile
        data = {**data, "detectors": {"profile": data["detectors"]}}
    _check_sections(data, file)
    if isinstance(data.get("mcp_servers"), list):
        data = {**data, "mcp_servers": [_server_in(s, file.parent) for s in data["mcp_servers"]]}
    fields = dict(data)
    fields.update(
        name=str(data["name"]),
        description=str(data["description"]),
        instructions=body or str(data.get("instructions") or ""),
        tools=tools,
        input_schema=data.get("input_schema") or DEFAULT_INPUT_SCHEMA,
    )
    try:
        return Agent(**fields, source=str(file))
    except ConfigError as exc:
        raise ConfigError(exc.reason, file=file, field=exc.field, fix=exc.fix) from None
    except TypeError as exc:  # a value of the wrong kind for a field
        raise ConfigError(str(exc), file=file, fix="see docs/configuration.md") from None


def _server_in(server: Any, folder: Path) -> Any:
    """An MCP server of an agent file runs in the file's folder (or `cwd` relative to it)."""
    if not isinstance(server, Mapping) or "command" not in server:
        return server
    cwd = folder / str(server.get("cwd") or ".")
    return {**server, "cwd": str(cwd.resolve())}


def _check_sections(data: Mapping[str, Any], file: Path) -> None:
    """`detectors` and `escalation` validated by their models, with did-you-mean for typos."""
    from dispatcher.detectors._settings import DetectorSettings
    from dispatcher.escalation.settings import EscalationSettings

    if data.get("detectors") is not None:
        try:
            DetectorSettings.from_mapping(data["detectors"], source=file)
        except ConfigError as exc:
            field = f"detectors.{exc.field}" if exc.field else "detectors"
            raise ConfigError(exc.reason, file=file, field=field, fix=exc.fix) from None
    if data.get("escalation") is not None:
        try:
            EscalationSettings.model_validate(data["escalation"])
        except ValidationError as exc:
            raise config_error(exc, EscalationSettings, file=file, prefix=("escalation",)) from None
