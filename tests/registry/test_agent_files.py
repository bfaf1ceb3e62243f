"""Agents from files and code: the same seam, clear errors on clashes and unknown names."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dispatcher import Agent, ConfigError, Registry
from dispatcher.registry.agent_files import load_agent_file
from dispatcher.registry.config import parse_registry_config

AGENT_MD = """---
name: analyst
description: Answers questions about the data.
tier: weak
tools: [lookup]
detectors: {loop: {repeats: 3}, stall: {patience: 4}}
escalation: {mode: advise, quota: 2}
---
You answer with one query at a time.
"""


def _registry() -> Registry:
    return Registry(
        parse_registry_config(
            {
                "model_list": [{"model_name": "small", "litellm_params": {"model": "openai/x"}}],
                "dispatcher": {"tiers": {"weak": "small"}},
            }
        )
    )


def test_markdown_front_matter_and_body(tmp_path: Path) -> None:
    path = tmp_path / "analyst.md"
    path.write_text(AGENT_MD)
    agent = load_agent_file(path)
    assert agent.name == "analyst" and agent.tier == "weak" and agent.tools == ["lookup"]
    assert agent.instructions == "You answer with one query at a time."
    assert agent.escalation_settings is not None and agent.escalation_settings.quota == 2
    assert agent.detectors == {"loop": {"repeats": 3}, "stall": {"patience": 4}}


def test_yaml_agent_file(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("name: a\ndescription: does a\ninstructions: be brief\n")
    assert load_agent_file(path).instructions == "be brief"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: a\n", "missing 'description'"),
        ("name: a\ndescription: d\ntols: [x]\n", "unknown field 'tols'"),
        ("name: 'a b'\ndescription: d\n", "invalid agent name"),
        ("name: a\ndescription: d\ntier: medium\n", "unknown tier"),
        ("name: a\ndescription: d\nescalation: {quota: -1}\n", "escalation.quota"),
    ],
)
def test_bad_agent_files_say_what_and_where(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_agent_file(path)
    assert fragment in str(info.value) and "bad.yaml" in str(info.value)


def test_name_clash_is_an_error() -> None:
    registry = _registry()
    registry.register(Agent(name="a", description="first"))
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(Agent(name="a", description="second"))


def test_unknown_tool_and_model_are_errors() -> None:
    registry = _registry()
    registry.register(Agent(name="a", description="d", tools=["nope.tool"]))
    with pytest.raises(ConfigError, match=r"unknown tool 'nope\.tool'"):
        registry.check()
    other = _registry()
    other.register(Agent(name="b", description="d", model="gpt-99"))
    with pytest.raises(ConfigError, match="unknown model 'gpt-99'"):
        other.check()


def test_builtins_register_through_entry_points_only_when_usable(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    registry = Registry(
        parse_registry_config(
            {
                "model_list": [{"model_name": "small", "litellm_params": {"model": "openai/x"}}],
                "dispatcher": {
                    "tiers": {"weak": "small"},
                    "toolkits": {"sql": {"database": str(db)}},
                },
            }
        )
    )
    registry.load_plugins()
    assert {"sql_analyst", "overwatch"} <= set(registry.agents)
    assert "coder" not in registry.agents  # no workspace toolkit configured
    assert registry.agents["overwatch"].role == "overwatch"
    assert [t.name for t in registry.tools_for(registry.agents["sql_analyst"])] == [
        "sql.list_tables",
        "sql.describe_table",
        "sql.run_query",
    ]


def test_a_file_saved_with_a_byte_order_mark_reads_like_one_without(tmp_path: Path) -> None:
    # Windows editors start UTF-8 files with a BOM: the agent file was refused as not
    # starting with '---' although it visibly does.
    path = tmp_path / "analyst.md"
    path.write_bytes(b"\xef\xbb\xbf" + AGENT_MD.encode())
    assert load_agent_file(path).name == "analyst"
