"""`dispatcher run --live --record` against a local OpenAI-compatible server, then replay.

The example's models point at a server on 127.0.0.1 that speaks Chat Completions, so the real
SDK, adapter, retry layer and CLI are exercised end to end; the recorded cassette then
replays offline to the same answer and the same trace.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner
from wire_payloads import openai_completion
from wire_server import Reply, WireServer

from dispatcher.cli.app import _register_subcommands, app
from dispatcher.trace.reader import read_trace

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_specialist"
_register_subcommands()


def _example_against(server: WireServer, tmp_path: Path) -> Path:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    config = yaml.safe_load((folder / "dispatcher.yaml").read_text())
    config["model_list"] = [
        {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{name}-local",
                "api_base": server.base_url + "/v1",
            },
        }
        for name in ("small", "strong")
    ]
    (folder / "dispatcher.yaml").write_text(yaml.safe_dump(config))
    return folder


def _call(cid: str, name: str, arguments: dict[str, object]) -> tuple[str, str, str]:
    return (cid, name, json.dumps(arguments))


def test_live_run_records_a_cassette_that_replays_identically(
    wire_server: WireServer, tmp_path: Path
) -> None:
    folder = _example_against(wire_server, tmp_path)
    task = {"task": "Quote express shipping for a 12.5 kg parcel to Germany."}
    quote = {"weight_kg": 12.5, "country": "Germany", "service": "express"}
    wire_server.enqueue(
        Reply.json(
            openai_completion(
                tool_calls=(_call("c1", "shipping_quoter", task),), finish_reason="tool_calls"
            )
        ),
        Reply.json(
            openai_completion(
                tool_calls=(_call("c2", "shipping_quote", quote),), finish_reason="tool_calls"
            )
        ),
        Reply.json(openai_completion(text="It costs 78.75 EUR.")),
        Reply.json(openai_completion(text="Express shipping costs 78.75 EUR.")),
    )
    runs = tmp_path / "runs"
    cassette = folder / "recorded.yaml"
    live = CliRunner().invoke(
        app,
        [
            "run",
            str(folder),
            "--live",
            "--record",
            str(cassette),
            "--runs-dir",
            str(runs),
            "--json",
        ],
    )
    assert live.exit_code == 0, live.output
    live_result = json.loads(live.stdout)
    assert live_result["answer"] == "Express shipping costs 78.75 EUR."
    # The real tool ran on the live run's arguments; the SDK sent them back as a tool message.
    assert "78.75 EUR" in json.dumps(wire_server.requests[2].body["messages"])
    assert len(wire_server.requests) == 4

    spec = yaml.safe_load((folder / "example.yaml").read_text())
    spec["cassette"] = "recorded.yaml"
    (folder / "example.yaml").write_text(yaml.safe_dump(spec))
    replay = CliRunner().invoke(app, ["run", str(folder), "--runs-dir", str(runs), "--json"])
    assert replay.exit_code == 0, replay.output
    replay_result = json.loads(replay.stdout)
    assert replay_result["answer"] == live_result["answer"]
    assert len(wire_server.requests) == 4  # the replay called nothing

    volatile = {"run_id", "ts", "latency_ms", "duration_ms", "ttft_ms", "provider_model", "task"}

    def normalized(path: str) -> list[dict[str, object]]:
        return [
            {k: v for k, v in e.model_dump().items() if k not in volatile}
            for e in read_trace(Path(path))
        ]

    assert normalized(replay_result["trace_path"]) == normalized(live_result["trace_path"])


def test_ask_runs_a_task_live_from_a_registry_file(wire_server: WireServer, tmp_path: Path) -> None:
    folder = _example_against(wire_server, tmp_path)
    task = {"task": "What is the returns policy?"}
    wire_server.enqueue(
        Reply.json(
            openai_completion(
                tool_calls=(_call("c1", "returns_policy", task),), finish_reason="tool_calls"
            )
        ),
        Reply.json(openai_completion(text="Returns within 30 days.")),
        Reply.json(openai_completion(text="You can return items within 30 days.")),
    )
    config = folder / "dispatcher.yaml"
    data = yaml.safe_load(config.read_text())
    data["dispatcher"]["agents"] = ["agents/returns_policy.md"]
    config.write_text(yaml.safe_dump(data))
    # `ask` loads no example plugins, so this agent answers without its tool here.
    agent_file = folder / "agents" / "returns_policy.md"
    agent_file.write_text(
        agent_file.read_text().replace("tools: [shipping.returns_policy]", "tools: []")
    )
    result = CliRunner().invoke(
        app, ["ask", "Can I return this?", "-c", str(config), "--runs-dir", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["answer"] == "You can return items within 30 days."


def test_a_provider_error_in_a_live_run_is_a_clear_error_not_a_traceback(
    wire_server: WireServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli_runner import run_cli

    folder = _example_against(wire_server, tmp_path)
    for command in (
        ["run", str(folder), "--live", "--runs-dir", str(tmp_path / "runs")],
        ["ask", "hello", "-c", str(folder / "dispatcher.yaml")],
    ):
        wire_server.enqueue(Reply.json({"error": {"message": "invalid model"}}, status=404))
        result = run_cli(command, capsys)
        assert result.exit_code == 2, result.stdout + result.stderr
        assert result.stderr.startswith("error:") and "fix:" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
