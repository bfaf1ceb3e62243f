"""The shell commands and config snippets of README.md and docs/*.md work as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_install_commands_install_this_repository_not_a_namesake() -> None:
    """`dispatcher` on PyPI is an unrelated 2012 library: `pip install 'dispatcher[x]'` in a
    fresh venv installs it, without the extra. Extras install from the clone: `.[x]`."""
    install = re.compile(r"pip install((?:[ \t]+[^\s&;|#`]+)+)")
    for doc in DOCS:
        for arguments in install.findall(doc.read_text()):
            for argument in arguments.split():
                name = argument.strip("'\"")
                assert not re.match(r"dispatcher\b", name), f"{doc.name}: pip install {argument}"
