"""Runnable example folders: a config, a task, a cassette, and optional plugins or workspace.

``example.yaml``::

    task: "Which three genres earned the most in 2012?"
    config: dispatcher.yaml        # the registry file (default: dispatcher.yaml)
    cassette: cassette.yaml        # recorded/scripted model turns (default: cassette.yaml)
    plugins: [my_tools.py]         # optional: modules whose register(registry) is called
    workspace: project             # optional: copied to a fresh folder for the workspace toolkit
    expect: {answer_contains: [...]}   # optional: facts the example's tests check

The user documentation of the format is docs/examples.md.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dispatcher._did_you_mean import did_you_mean
from dispatcher._strict_yaml import load_user_yaml
from dispatcher._user_files import read_user_text
from dispatcher.errors import ConfigError
from dispatcher.registry._validation import yaml_error
from dispatcher.registry.registry import Registry

__all__ = ["Example", "load_example"]


@dataclass(frozen=True)
class Example:
    """A parsed example folder."""

    root: Path
    task: str
    config: Path
    cassette: Path
    plugins: list[Path] = field(default_factory=list)
    workspace: Path | None = None
    expect: dict[str, Any] = field(default_factory=dict)

    def build_registry(self, *, workspace_dir: Path | None = None) -> Registry:
        """The example's registry: plugins, its agents, and a fresh copy of its workspace."""
        registry = Registry.from_file(self.config)
        for plugin in self.plugins:
            _load_plugin(plugin)(registry)
        if self.workspace is not None and workspace_dir is not None:
            # Absolute: the registry resolves relative toolkit paths against the config's folder.
            workspace_dir = workspace_dir.resolve()
            if workspace_dir.exists():
                shutil.rmtree(workspace_dir)
            # Links stay links: copied as files, a link out would become readable content.
            shutil.copytree(self.workspace, workspace_dir, symlinks=True)
            registry.configure_toolkit("workspace", {"root": str(workspace_dir)})
        registry.check()
        return registry


def _check_field_types(data: dict[str, Any], spec_file: Path) -> None:
    """Paths and text are strings, plugins a list of them, expect a mapping."""
    for key in ("config", "cassette", "workspace", "description"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ConfigError(
                f"must be text (a path, for a file or folder), got {type(data[key]).__name__}",
                file=spec_file,
                field=key,
                fix=f"e.g. {key}: {_EXAMPLE_VALUES[key]}",
            )
    plugins = data.get("plugins")
    if plugins is not None and (
        not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins)
    ):
        raise ConfigError(
            "must be a list of Python file paths",
            file=spec_file,
            field="plugins",
            fix="e.g. plugins: [my_tools.py]",
        )
    expect = data.get("expect")
    fix = 'e.g. expect: {answer_contains: ["Rock", "162.36"]}'
    if expect is not None and not isinstance(expect, dict):
        raise ConfigError("must be a mapping", file=spec_file, field="expect", fix=fix)
    # A misspelt key would make the example's test check nothing, silently.
    for key, value in (expect or {}).items():
        if key != "answer_contains":
            hint = did_you_mean(str(key), ["answer_contains"])
            raise ConfigError(
                f"unknown key {key!r}", file=spec_file, field=f"expect.{key}", fix=hint + fix
            )
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                "must be a list of texts the answer contains",
                file=spec_file,
                field="expect.answer_contains",
                fix=fix,
            )


_EXAMPLE_VALUES = {
    "config": "dispatcher.yaml",
    "cassette": "cassette.yaml",
    "workspace": "project",
    "description": "What this example shows.",
}


def _load_plugin(path: Path) -> Callable[[Registry], None]:
    if not path.is_file():
        raise ConfigError(
            "plugin file not found",
            file=path,
            field="plugins",
            fix="check the path in example.yaml's `plugins:` (relative to the example folder)",
        )
    spec = importlib.util.spec_from_file_location(f"dispatcher_example_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ConfigError("cannot import plugin", file=path, fix="plugins must be .py files")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ConfigError(
            f"the plugin has a syntax error at line {exc.lineno}: {exc.msg}",
            file=path,
            fix="correct the Python syntax",
        ) from None
    register = getattr(module, "register", None)
    if not callable(register):
        raise ConfigError(
            "a plugin module needs a register(registry) function", file=path, fix="define it"
        )
    return register  # type: ignore[no-any-return]


def load_example(directory: str | Path) -> Example:
    """Read `example.yaml` in `directory`, with errors that say what to fix."""
    root = Path(directory)
    spec_file = root / "example.yaml"
    if not spec_file.is_file():
        inside = root.is_file() and (root.parent / "example.yaml").is_file()
        raise ConfigError(
            f"{root} is not an example folder (no example.yaml)",
            # A file of an example (its dispatcher.yaml, say) means the folder that holds it.
            fix=f"pass its folder: {root.parent}"
            if inside
            else "pass a folder such as examples/sql_report",
        )
    try:
        data = load_user_yaml(read_user_text(spec_file)) or {}
    except yaml.YAMLError as exc:
        raise yaml_error(exc, spec_file, what="example file") from None
    if not isinstance(data, dict) or not isinstance(data.get("task"), str):
        raise ConfigError("example.yaml needs a `task` string", file=spec_file, field="task")
    known = {"task", "config", "cassette", "plugins", "workspace", "expect", "description"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r}",
            file=spec_file,
            field=unknown[0],
            fix=did_you_mean(unknown[0], known) + f"use: {', '.join(sorted(known))}",
        )
    _check_field_types(data, spec_file)
    workspace = root / data["workspace"] if data.get("workspace") else None
    if workspace is not None and not workspace.is_dir():
        raise ConfigError("workspace folder not found", file=spec_file, field="workspace")
    return Example(
        root=root,
        task=data["task"],
        config=root / data.get("config", "dispatcher.yaml"),
        cassette=root / data.get("cassette", "cassette.yaml"),
        plugins=[root / p for p in data.get("plugins") or []],
        workspace=workspace,
        expect=dict(data.get("expect") or {}),
    )
