"""Install hints in the code say what the docs say: ``pip install -e ".[extra]"``.

The PyPI project named `dispatcher` is unrelated, so ``pip install 'dispatcher[x]'`` (what the
hints said) installs it, without the extra. dispatcher installs from its repository; the docs
(README, docs/*.md) give ``pip install -e ".[x]"`` from the repository root, and so must every
hint a user is shown.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from dispatcher.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    path
    for package in ("dispatcher", "tools", "agents")
    for path in (ROOT / package).rglob("*.py")
    if ".venv" not in path.parts
)
INSTALL = re.compile(r"pip install((?:[ \t]+[^\s&;|#`,()]+)+)")  # arguments end at ( or ,
WHERE = "(from the dispatcher repository root)"


def _extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def _hints() -> list[tuple[str, int, str, str]]:
    """(file, line, arguments, what follows) for every `pip install` in the code."""
    found = []
    for path in SOURCES:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            for match in INSTALL.finditer(line):
                name = str(path.relative_to(ROOT))
                after = line[match.end() :] + " " + (lines[number] if number < len(lines) else "")
                found.append((name, number, match.group(1), after))
    return found


def test_the_code_has_install_hints_to_check() -> None:
    assert len(_hints()) >= 10


@pytest.mark.parametrize("hint", _hints(), ids=lambda hint: f"{hint[0]}:{hint[1]}")
def test_a_hint_installs_this_repository_not_a_namesake(hint: tuple[str, int, str, str]) -> None:
    name, number, arguments, rest = hint
    words = [word.strip("'\"") for word in arguments.split()]
    assert not any(re.match(r"dispatcher\b", word) for word in words), (name, number, arguments)
    for index, word in enumerate(words):
        if word.startswith(".["):
            assert index > 0 and words[index - 1] == "-e", (name, number, "use -e like the docs")
            assert set(word[2:-1].split(",")) <= _extras(), (name, number, "no such extra")
            assert WHERE in rest, (name, number, f"say where to run it: {WHERE}")


def test_a_missing_extra_error_shows_the_docs_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from dispatcher.state import open_state_store

    monkeypatch.setitem(sys.modules, "redis", None)  # as if the extra were not installed
    with pytest.raises(ConfigError) as caught:
        open_state_store("redis://127.0.0.1:1/0")
    assert caught.value.fix is not None
    assert caught.value.fix.startswith(f'pip install -e ".[redis]" {WHERE}')


DOC_INSTALL = re.compile(r"pip install((?:[ \t]+[^\s&;|#`()]+)+)")  # extras lists: commas


def _doc_hints() -> list[tuple[str, int, str]]:
    """(file, line, arguments) for every `pip install` of this repository in the docs."""
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    docs += sorted((ROOT / "examples").rglob("*.md")) + sorted((ROOT / "benchmarks").glob("*.md"))
    found = []
    for path in docs:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in DOC_INSTALL.finditer(line):
                found.append((str(path.relative_to(ROOT)), number, match.group(1)))
    return found


def test_the_docs_give_one_install_command_for_an_extra() -> None:
    # README's list of docs said `pip install '.[gateway]'` while every other line (and every
    # hint in the code) says `pip install -e ".[x]"`.
    wrong = []
    for name, number, arguments in _doc_hints():
        words = arguments.split()
        for index, word in enumerate(words):
            if word.strip("'\"").startswith(".["):
                extras = set(word.strip("'\"")[2:-1].split(","))
                if word[0] != '"' or index == 0 or words[index - 1] != "-e":
                    wrong.append((name, number, arguments))
                elif not extras <= _extras():
                    wrong.append((name, number, f"no such extra: {arguments}"))
    assert len(_doc_hints()) >= 10
    assert not wrong
