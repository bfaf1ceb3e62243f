"""The toolkits' constructors check their arguments: a wrong type or value is a ConfigError
when the toolkit is built, not a TypeError or a failure of every later command."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from dispatcher_tools.sql import SqlToolkit
from dispatcher_tools.workspace import WorkspaceToolkit

from dispatcher.errors import ConfigError


@pytest.mark.parametrize(
    "kwargs",
    [
        {"command_timeout_s": "5"},
        {"command_timeout_s": math.inf},
        {"command_timeout_s": math.nan},
        {"memory_mb": 512.5},
        {"max_processes": 2.5},
        {"max_output_bytes": "16000"},
        {"cpu_s": True},
        {"env": ["A"]},
        {"env": {"A=B": "x"}},
        {"env": {"": "x"}},
        {"env": {"A": 5}},
        {"env": {"A": "x\x00y"}},
    ],
    ids=repr,
)
def test_workspace_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        WorkspaceToolkit(tmp_path, **kwargs)


@pytest.mark.parametrize("root", [None, 5])
def test_workspace_root_must_be_a_path(root: Any) -> None:
    with pytest.raises(ConfigError, match="root"):
        WorkspaceToolkit(root)


def test_workspace_env_that_is_fine(tmp_path: Path) -> None:
    assert WorkspaceToolkit(tmp_path, env={"APP_MODE": "test", "_X1": ""}).root == tmp_path


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_rows": "5"},
        {"max_rows": 2.5},
        {"max_bytes": 1000.5},
        {"time_limit_s": "2"},
        {"time_limit_s": math.inf},
        {"sample_rows": "yes"},
    ],
    ids=repr,
)
def test_sql_arguments(chinook: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="fix:"):
        SqlToolkit(chinook, **kwargs)


@pytest.mark.parametrize("database", [None, 5])
def test_sql_database_must_be_a_path(database: Any) -> None:
    with pytest.raises(ConfigError, match="database"):
        SqlToolkit(database)


def test_workspace_without_pytest_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the `workspace` extra, run_tests answered "No module named pytest" to the model,
    # and `dispatcher run examples/fix_failing_test` failed on a cassette mismatch.
    import sys

    monkeypatch.setitem(sys.modules, "pytest", None)  # as if it were not installed
    with pytest.raises(ConfigError) as caught:
        WorkspaceToolkit(tmp_path)
    assert "pytest" in str(caught.value)
    assert (caught.value.fix or "").startswith('pip install -e ".[workspace]"')
