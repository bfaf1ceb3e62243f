"""Fixtures for the built-in toolkit tests: a private Chinook copy and small workspaces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dispatcher_tools.sql import SqlToolkit
from dispatcher_tools.workspace import WorkspaceToolkit

_REPO = Path(__file__).resolve().parents[2]
_CHINOOK_CANDIDATES = (
    _REPO / "examples" / "sql_report" / "data" / "chinook.sqlite",
    Path("/work/shared/data/chinook/Chinook_Sqlite.sqlite"),
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def chinook(tmp_path: Path) -> Path:
    """A writable copy: a write that got through would show in its hash and row counts."""
    source = next((p for p in _CHINOOK_CANDIDATES if p.is_file()), None)
    if source is None:
        pytest.skip("the Chinook database is not available")
    copy = tmp_path / "chinook.sqlite"
    shutil.copyfile(source, copy)
    return copy


@pytest.fixture
def sql(chinook: Path) -> SqlToolkit:
    return SqlToolkit(chinook)


@pytest.fixture
def workspace(tmp_path: Path) -> WorkspaceToolkit:
    root = tmp_path / "ws"
    root.mkdir()
    # Plugin autoload off: the venv's plugins are not the workspace's and cost a second per run.
    return WorkspaceToolkit(root, command_timeout_s=20, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
