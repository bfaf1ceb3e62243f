"""The entry point registers the toolkits through the public seam; bad options are ConfigErrors."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dispatcher_tools
import pytest
from dispatcher_tools import register

from dispatcher.errors import ConfigError
from dispatcher.tools.tool import Tool

Factory = Any


class FakeRegistry:
    def __init__(self) -> None:
        self.toolkits: dict[str, Factory] = {}

    def register_toolkit(self, name: str, factory: Any) -> None:
        assert name not in self.toolkits
        self.toolkits[name] = factory


@pytest.fixture
def factories() -> Mapping[str, Any]:
    registry = FakeRegistry()
    register(registry)
    return registry.toolkits


def names(tools: Sequence[Tool]) -> list[str]:
    return [t.name for t in tools]


def test_register_adds_sql_and_workspace(factories: Mapping[str, Any]) -> None:
    assert sorted(factories) == ["sql", "workspace"]


def test_entry_point_names_register() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    entry = pyproject["project"]["entry-points"]["dispatcher.tools"]["builtin"]
    module, _, attribute = entry.partition(":")
    assert module == "dispatcher_tools" and getattr(dispatcher_tools, attribute) is register


def test_sql_factory_builds_the_tools(factories: Mapping[str, Any], chinook: Path) -> None:
    tools = factories["sql"]({"database": str(chinook), "max_rows": 10})
    assert names(tools) == ["sql.list_tables", "sql.describe_table", "sql.run_query"]


def test_workspace_factory_builds_the_tools(factories: Mapping[str, Any], tmp_path: Path) -> None:
    tools = factories["workspace"]({"root": tmp_path, "command_timeout_s": 5})
    assert names(tools) == [
        "workspace.list_files", "workspace.read_file", "workspace.write_file",
        "workspace.patch_file", "workspace.run_command", "workspace.run_tests",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("toolkit", "options", "field", "fix"),
    [
        ("sql", {}, "database", "add `database`"),
        ("sql", {"database": "x.sqlite", "max_row": 5}, "max_row", "max_rows"),
        ("sql", {"database": "{db}", "max_rows": "many"}, "max_rows", "fix the value"),
        ("sql", {"database": "{db}", "time_limit_s": -1}, "time_limit_s", "fix the value"),
        ("sql", {"database": "/no/such.sqlite"}, "database", "existing SQLite file"),
        ("workspace", {}, "root", "add `root`"),
        ("workspace", {"root": "/no/such/dir"}, "root", "create the directory"),
        ("workspace", {"root": "{tmp}", "memory_mb": 0}, "memory_mb", "fix the value"),
        ("workspace", {"root": "{tmp}", "isolation": "vm"}, "isolation", "python-guard"),
    ],
)
def test_bad_options_raise_config_errors_naming_option_and_fix(
    factories: Mapping[str, Any],
    chinook: Path,
    tmp_path: Path,
    toolkit: str,
    options: dict[str, Any],
    field: str,
    fix: str,
) -> None:
    filled = {
        k: v.format(db=chinook, tmp=tmp_path) if isinstance(v, str) else v
        for k, v in options.items()
    }
    with pytest.raises(ConfigError) as caught:
        factories[toolkit](filled)
    assert caught.value.field == field
    assert fix in str(caught.value)
