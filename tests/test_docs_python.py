"""The code of docs/python.md, docs/approvals.md and README's "Using it in code" runs offline, as
written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dispatcher import Agent, Dispatcher, tool
from dispatcher.cassette import Cassette, save_cassette
from dispatcher.errors import UnexpectedModelCall
from dispatcher.recording import RecordingModel
from dispatcher.testing import ScriptedModel, reply, tool_calls

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(path.read_text()) if lang == language]


@pytest.fixture
def docs_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    (config,) = _blocks(ROOT / "docs" / "python.md", "yaml")
    (tmp_path / "dispatcher.yaml").write_text(config)
    return tmp_path


def test_the_python_page_runs_offline(
    docs_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, replay = _blocks(ROOT / "docs" / "python.md", "python")
    namespace: dict[str, object] = {}
    exec(compile(first, "docs/python.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "A 12 kg parcel to Germany costs 50.40 EUR."
    assert printed[1] == "ok ['shipping_quoter']"
    result = namespace["result"]
    assert Path(str(result.trace_path)).is_file()  # type: ignore[attr-defined]


def test_the_python_page_replays_a_recorded_cassette_as_written(docs_config: Path) -> None:
    """Record the page's scripted run to cassette.yaml, then run the page's replay code."""
    first, replay = _blocks(ROOT / "docs" / "python.md", "python")
    scripted = 'dispatcher.registry.use_models({"small": small, "strong": ScriptedModel([])})'
    recorded = (
        'dispatcher.registry.use_models({"small": RecordingModel(small, "small", cassette),'
        ' "strong": RecordingModel(ScriptedModel([]), "strong", cassette)})'
    )
    assert scripted in first
    namespace: dict[str, Any] = {"RecordingModel": RecordingModel, "cassette": Cassette()}
    exec(compile(first.replace(scripted, recorded), "docs/python.md", "exec"), namespace)
    save_cassette(namespace["cassette"], docs_config / "cassette.yaml")

    exec(compile(replay, "docs/python.md", "exec"), namespace)
    replayed = namespace["dispatcher"].run_sync("What does a 12 kg parcel to Germany cost?")
    assert replayed.answer == "A 12 kg parcel to Germany costs 50.40 EUR."
    exec(compile(replay, "docs/python.md", "exec"), namespace)
    with pytest.raises(UnexpectedModelCall, match="differs from the recording"):  # strict
        namespace["dispatcher"].run_sync("What does a 13 kg parcel to Germany cost?")


def test_the_readme_code_section_runs_offline(
    docs_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using it in code") :]
    section = section[: section.index("\n## ", 5)]
    (code,) = [body for lang, body in _BLOCK.findall(section) if lang == "python"]
    exec(compile(code, "README.md", "exec"), {})
    assert "50.40 EUR" in capsys.readouterr().out


def test_the_docs_stand_alone() -> None:
    """No document names a file outside the repository; every relative link resolves."""
    link = re.compile(r"\]\(([^)#]+)(?:#[^)]*)?\)")
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        assert "../shared" not in text and "DESIGN.md" not in text, doc
        for target in link.findall(text):
            if "://" not in target:
                assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_reliability_claims_only_what_the_code_does() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text()
    assert "resumed step" not in text  # runs are not resumed; a retried model call is


def test_the_approvals_page_approver_decides_as_it_says(docs_config: Path) -> None:
    """docs/approvals.md's approver, as written: example.com mail is sent, other mail denied."""
    (code,) = _blocks(ROOT / "docs" / "approvals.md", "python")
    definition, call = code.split("\nresult = await ")
    assert call.startswith("dispatcher.run(task, approve=approve)")
    namespace: dict[str, Any] = {}
    exec(compile(definition, "docs/approvals.md", "exec"), namespace)
    sent: list[str] = []

    @tool(requires_approval=True)
    def send_email(to: str, body: str) -> str:
        """Send an email."""
        sent.append(to)
        return f"sent to {to}"

    mailer = Agent(name="mailer", description="Sends emails.", tier="weak", tools=[send_email])
    dispatcher = Dispatcher.from_config("dispatcher.yaml", agents=[mailer])
    mail = {"body": "hi"}
    small = ScriptedModel(
        [
            tool_calls(("mailer", {"task": "mail ann and bob"}), agent="dispatcher"),
            tool_calls(("send_email", {"to": "ann@example.com", **mail}), agent="mailer"),
            tool_calls(("send_email", {"to": "bob@elsewhere.org", **mail}), agent="mailer"),
            reply("ann was mailed; bob's mail was refused", agent="mailer"),
            reply("done", agent="dispatcher"),
        ]
    )
    dispatcher.registry.use_models({"small": small, "strong": ScriptedModel([])})
    result = dispatcher.run_sync("mail ann and bob", approve=namespace["approve"])
    assert sent == ["ann@example.com"]
    denied = [e for e in result.events if getattr(e, "decision", None) == "deny"]
    assert [e.reason for e in denied] == ["only example.com addresses"]  # type: ignore[attr-defined]
