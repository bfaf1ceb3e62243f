"""The shell commands and config snippets of README.md and docs/*.md work as written."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from dispatcher import Dispatcher
from dispatcher.registry.registry import Registry

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


def _documented_commands() -> list[tuple[str, str]]:
    """Every `dispatcher ...` command line in the docs' shell blocks and inline code."""
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        text = doc.read_text()
        shell = [body for lang, body in fence.findall(text) if lang in ("", "bash")]
        prose = re.sub(r"(`{2,}).+?\1", "", fence.sub("", text))  # ```` ```json ```` spans
        snippets = [*re.findall(r"`([^`\n]+)`", prose.replace("\n", " "))]
        snippets += [re.sub(r"\\\n\s*", " ", body) for body in shell]
        for snippet in snippets:
            for part in re.split(r"\n|&&|;|\|", snippet):
                part = part.split("#")[0].strip()
                if part.startswith("dispatcher ") and re.match(r"dispatcher [a-z]", part):
                    found.append((doc.name, part))
    return found


def test_every_documented_command_and_flag_exists() -> None:
    """`dispatcher run DIR --live`, `detectors eval ... --steps`: each sub-command and each
    flag a document shows is one the CLI accepts (a renamed flag must take the docs along)."""
    import typer

    from dispatcher.cli.app import _register_subcommands, app

    _register_subcommands()
    root = typer.main.get_command(app)
    commands = _documented_commands()
    assert len(commands) > 40
    for doc, line in commands:
        command: Any = root
        words = line.split()[1:]
        for depth, word in enumerate(words):
            sub = getattr(command, "commands", {}).get(word)
            if sub is None:
                # a group alone (`dispatcher trace`) names the group; else a word must follow
                assert not hasattr(command, "commands"), f"{doc}: `{line}`: no command {word!r}"
                break
            command = sub
            if depth == len(words) - 1:
                break
        options = {name for param in command.params for name in param.opts}
        for flag in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line):
            assert flag in options | {"--help"}, f"{doc}: `{line}`: no option {flag}"


def test_every_yaml_and_json_snippet_parses() -> None:
    """A reader pastes these into files: `[top genres by revenue?, ...]` did not parse."""
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
    for doc in DOCS:
        for lang, body in fence.findall(doc.read_text()):
            if lang == "yaml":
                list(yaml.safe_load_all(body))
            elif lang == "markdown":  # an agent file: its front matter is YAML
                yaml.safe_load(body.split("---")[1])
            elif lang == "json":  # JSON lines
                for line in body.splitlines():
                    json.loads(line)


def test_the_reference_registry_file_loads(tmp_path: Path) -> None:
    """configuration.md's annotated file names every key: each must still be accepted. Only
    what the page marks as elided is filled in (the router's `...`, the files it names)."""
    reference = _blocks(ROOT / "docs" / "configuration.md", "yaml")[0]
    elided = "  router: {type: semantic, ...}"
    assert elided in reference
    text = "\n".join(line for line in reference.splitlines() if not line.startswith(elided))
    (tmp_path / "dispatcher.yaml").write_text(text)
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "shipping_quoter.md").write_text(
        "---\nname: shipping_quoter\ndescription: Quotes.\ntier: weak\n---\nQuote.\n"
    )
    (tmp_path / "data").mkdir()
    database = sqlite3.connect(tmp_path / "data" / "chinook.sqlite")
    database.execute("CREATE TABLE genre (name TEXT)")
    database.close()
    (tmp_path / "project").mkdir()
    registry = Registry.from_file(tmp_path / "dispatcher.yaml")
    registry.check()
    settings = registry.config.settings
    assert settings.approval_timeout_s == 300 and settings.requires_approval == ["payments.charge"]
    assert {"shipping_quoter", "sql_analyst", "coder"} <= set(registry.agents)
