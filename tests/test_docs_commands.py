"""The shell commands and config snippets of README.md and docs/*.md work as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dispatcher import Dispatcher

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


def _blocks(path: Path, language: str) -> list[str]:
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
    return [body for lang, body in fence.findall(path.read_text()) if lang == language]


def test_the_local_model_registry_loads_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading checks every name and option without a key and without loading the model."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    (block,) = _blocks(ROOT / "docs" / "local-model.md", "yaml")
    config = tmp_path / "dispatcher.yaml"
    config.write_text(block)
    dispatcher = Dispatcher.from_config(config, runs_dir=tmp_path / "runs")
    assert dispatcher.registry.config.settings.tiers["weak"] == "smollm2"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_to_a_section_name_a_section_that_exists() -> None:
    link = re.compile(r"\]\(([^)#\s]*)#([^)\s]+)\)")
    for doc in DOCS:
        for target, anchor in link.findall(doc.read_text()):
            path = doc if not target else doc.parent / target
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)
            slugs = {_slug(heading) for heading in headings}
            assert anchor in slugs, f"{doc.name} links to {target}#{anchor}: no such heading"


def test_every_test_a_document_names_exists() -> None:
    """docs/reliability.md proves each guarantee by naming tests: each must still be there."""
    named = re.compile(r"(tests/[\w/]+\.py)(?:::(\w+))?")
    for doc in DOCS:
        for path, name in named.findall(doc.read_text()):
            assert (ROOT / path).is_file(), f"{doc.name} names the missing file {path}"
            if name:
                definition = re.compile(rf"^\s*(async )?def {name}\(", re.MULTILINE)
                assert definition.search((ROOT / path).read_text()), f"{doc.name}: {path}::{name}"
