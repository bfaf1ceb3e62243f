"""A key the registry file names (`api_key: os.environ/NAME`) never reaches a trace or an
export, also before the model that uses it was first called: a worker's tool may print it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_runner import run_cli

from dispatcher import Agent, Dispatcher, Registry, tool
from dispatcher.registry.config import parse_registry_config
from dispatcher.testing import ScriptedModel, reply, tool_calls

# No provider's key shape: only the registry's knowledge of it can redact it.
# Registered for the whole process: nothing in it may look like ordinary text another test
# checks is not taken for a key (a run of hex digits did).
_KEY = "custom-provider-key-Zq8Lw3Xv9Ty2Rk5N"


@tool
def printenv(name: str) -> str:
    """Print an environment variable."""
    return os.environ.get(name, "")


def test_an_unused_models_key_printed_by_a_tool_is_redacted_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRACE_TEST_STRONG_KEY", _KEY)
    monkeypatch.setenv("DISPATCHER_RUNS_DIR", str(tmp_path / "runs"))
    config = parse_registry_config(
        {
            "model_list": [
                {"model_name": "small", "litellm_params": {"model": "openai/small-model"}},
                {
                    "model_name": "strong",
                    "litellm_params": {
                        "model": "anthropic/strong-model",
                        "api_key": "os.environ/TRACE_TEST_STRONG_KEY",
                    },
                },
            ],
            "dispatcher": {"tiers": {"weak": "small", "strong": "strong"}},
        }
    )
    reg = Registry(config)
    reg.register(Agent(name="ops", description="Ops.", tools=[printenv], tier="weak"))
    small = ScriptedModel(
        [
            tool_calls(("ops", {"task": "env"}), agent="dispatcher"),
            tool_calls(("printenv", {"name": "TRACE_TEST_STRONG_KEY"}), agent="ops"),
            reply("done", agent="ops"),
            reply("done", agent="dispatcher"),
        ],
        model_id="small-model",
    )
    reg.use_models({"small": small})
    result = Dispatcher(reg).run_sync("show env")
    assert any(e.kind == "tool_call" for e in result.events)
    traces = list((tmp_path / "runs").rglob("*.jsonl"))
    assert traces and all(_KEY not in p.read_text() for p in traces)
    assert _KEY not in json.dumps([e.model_dump(mode="json") for e in result.events])
    html = tmp_path / "run.html"
    assert run_cli(["trace", "html", "latest", "-o", str(html)], capsys).exit_code == 0
    assert _KEY not in html.read_text()


@pytest.mark.parametrize("cut", [4, 20, len(_KEY) - 1])
def test_a_key_cut_by_a_trace_fields_length_limit_leaves_no_part_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: int
) -> None:
    # Trace fields keep the first N characters (task 4000, agent input/output 2000, model text
    # 1000, tool output 2000) and were redacted after the cut: a key straddling the limit lost
    # its tail, so the exact match no longer saw it and its first `cut` characters stayed.
    from dispatcher.redaction import register_secret

    register_secret(_KEY)

    def straddling(limit: int) -> str:
        return "x" * (limit - cut) + _KEY

    @tool
    def dump() -> str:
        """Dump the config."""
        return straddling(2000)

    reg = Registry(
        parse_registry_config(
            {
                "model_list": [
                    {"model_name": "small", "litellm_params": {"model": "openai/small-model"}}
                ],
                "dispatcher": {"tiers": {"weak": "small"}},
            }
        )
    )
    reg.register(Agent(name="ops", description="Ops.", tools=[dump], tier="weak"))
    small = ScriptedModel(
        [
            tool_calls(("ops", {"task": straddling(2000)}), agent="dispatcher"),
            tool_calls(("dump", {}), agent="ops"),
            reply(straddling(1000), agent="ops"),
            reply(straddling(2000), agent="dispatcher"),
        ],
        model_id="small-model",
    )
    reg.use_models({"small": small})
    result = Dispatcher(reg, runs_dir=tmp_path).run_sync(straddling(4000))
    assert result.trace_path is not None
    trace = result.trace_path.read_text()
    assert _KEY[:4] not in trace
