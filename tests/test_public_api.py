"""The public API is explicit, and the framework never imports its built-in plugins."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import dispatcher

PACKAGE_DIR = Path(dispatcher.__file__).parent


def test_all_is_sorted_unique_and_importable() -> None:
    names = dispatcher.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(dispatcher, name) is not None


def test_core_names_are_public() -> None:
    for name in ("Agent", "Dispatcher", "Registry", "tool", "Model", "RunResult", "Step"):
        assert name in dispatcher.__all__


def test_every_public_module_declares_all() -> None:
    missing = []
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="dispatcher."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or ".cli" in info.name:
            continue
        module = importlib.import_module(info.name)
        if not hasattr(module, "__all__"):
            missing.append(info.name)
    assert missing == []


def test_framework_never_imports_builtin_tools_or_agents() -> None:
    offenders = []
    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"dispatcher_tools", "dispatcher_agents"}:
                    offenders.append(f"{path.relative_to(PACKAGE_DIR)}: {name}")
    assert offenders == []
