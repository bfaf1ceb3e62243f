"""`dispatcher ask` / `run --live` show the models' text as they write it, through the real CLI,
SDK and adapter against a local server that streams Chat Completions.

The text is labelled with its agent and model, printable (escapes shown, never obeyed), the
answer's own text is not printed twice, `--json` stdout stays pure JSON, and output that no
person watches (a pipe, CI) has no model text unless asked for.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyte
import pytest
import yaml
from cli_runner import run_cli
from wire_payloads import openai_stream
from wire_server import Reply, WireServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_specialist"
HOSTILE = "\x1b[2J\x1b]52;c;cHduZWQ=\x07"
ANSWER = "You can return items within 30 days."


def _words(text: str) -> tuple[str, ...]:
    """Text as a model streams it: a word (and its space) per chunk."""
    return tuple(text.replace(" ", " \0").split("\0"))


def _ask_config(server: WireServer, tmp_path: Path) -> Path:
    """The custom_specialist example's registry on the local server, one tool-less agent."""
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
    config["dispatcher"]["agents"] = ["agents/returns_policy.md"]
    (folder / "dispatcher.yaml").write_text(yaml.safe_dump(config))
    agent = folder / "agents" / "returns_policy.md"
    agent.write_text(agent.read_text().replace("tools: [shipping.returns_policy]", "tools: []"))
    return folder / "dispatcher.yaml"


def _streamed_turns(server: WireServer) -> None:
    """The dispatcher delegates (saying so first), the worker answers, the dispatcher answers."""
    delegate = openai_stream(
        text_chunks=_words("I will ask the returns specialist."),
        tool=("c1", "returns_policy", ('{"task": "What is the ', 'returns policy?"}')),
        finish_reason="tool_calls",
    )
    worker = openai_stream(
        text_chunks=_words(f"Returns within 30 days{HOSTILE}\nof delivery, with the receipt.")
    )
    server.enqueue(
        Reply.sse(delegate), Reply.sse(worker), Reply.sse(openai_stream(text_chunks=_words(ANSWER)))
    )


def _json_turns(server: WireServer) -> None:
    from wire_payloads import openai_completion

    call = ("c1", "returns_policy", json.dumps({"task": "What is the returns policy?"}))
    server.enqueue(
        Reply.json(openai_completion(tool_calls=(call,), finish_reason="tool_calls")),
        Reply.json(openai_completion(text="Returns within 30 days.")),
        Reply.json(openai_completion(text=ANSWER)),
    )


def _ask(config: Path, tmp_path: Path, *flags: str) -> list[str]:
    return ["ask", "Can I return this?", "-c", str(config), "--runs-dir", str(tmp_path), *flags]


def test_ask_with_model_text_shows_each_call_labelled_printable_and_the_answer_once(
    wire_server: WireServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _streamed_turns(wire_server)
    config = _ask_config(wire_server, tmp_path)
    result = run_cli(_ask(config, tmp_path, "--model-text"), capsys)
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # Each call's text, labelled, before its `model` line and before what happened next.
    said = lines.index("  ┊ dispatcher (small-local): I will ask the returns specialist.")
    assert lines[said + 1].startswith("  model small:")
    assert lines[said + 2] == "route dispatcher_model → returns_policy"
    worker = lines.index(
        "  ┊ returns_policy (small-local): Returns within 30 days\\x1b[2J\\x1b]52;c;cHduZWQ=\\x07"
    )
    assert lines[worker + 1] == "  ┊ of delivery, with the receipt."
    assert lines[worker + 2].startswith("  model small:")
    # The last call's text is the answer: named there, printed once, under `answer`.
    assert lines[worker + 3] == "  ┊ dispatcher (small-local): (the answer, printed below)"
    assert result.stdout.count(ANSWER) == 1
    assert lines[lines.index(ANSWER) - 1].strip("─ ") == "answer"
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    # Showing the text made the adapter stream its requests.
    assert all(request.body["stream"] is True for request in wire_server.requests)


def test_a_pipe_gets_no_model_text_and_unchanged_requests_by_default(
    wire_server: WireServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _json_turns(wire_server)
    config = _ask_config(wire_server, tmp_path)
    result = run_cli(_ask(config, tmp_path), capsys)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "┊" not in result.stdout + result.stderr
    assert result.stdout.startswith("agent dispatcher on small (dispatcher)\n")
    assert not any(request.body.get("stream") for request in wire_server.requests)


def test_json_stdout_stays_pure_json_when_model_text_is_asked_for(
    wire_server: WireServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _streamed_turns(wire_server)
    config = _ask_config(wire_server, tmp_path)
    result = run_cli(_ask(config, tmp_path, "--json", "--model-text"), capsys)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["answer"] == ANSWER
    assert "┊ returns_policy (small-local): Returns within 30 days" in result.stderr
    # Nothing is printed below on stderr: the answer is the JSON's.
    assert "printed below" not in result.stderr
    assert "(the answer, in the JSON on stdout)" in result.stderr


def test_no_model_text_turns_it_off(
    wire_server: WireServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _json_turns(wire_server)
    config = _ask_config(wire_server, tmp_path)
    result = run_cli(_ask(config, tmp_path, "--no-model-text"), capsys)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "┊" not in result.stdout
    assert result.stdout.count(ANSWER) == 1


def test_run_live_shows_model_text_and_a_replay_refuses_the_flag(
    wire_server: WireServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _ask_config(wire_server, tmp_path)
    folder = config.parent
    spec = yaml.safe_load((folder / "example.yaml").read_text())
    spec["task"] = "Can I return this?"
    (folder / "example.yaml").write_text(yaml.safe_dump(spec))
    _streamed_turns(wire_server)
    runs = str(tmp_path / "runs")
    live = run_cli(["run", str(folder), "--live", "--model-text", "--runs-dir", runs], capsys)
    assert live.exit_code == 0, live.stdout + live.stderr
    assert "  ┊ returns_policy (small-local): Returns within 30 days" in live.stdout
    assert live.stdout.count(ANSWER) == 1

    replay = run_cli(["run", str(folder), "--model-text", "--runs-dir", runs], capsys)
    assert replay.exit_code == 2
    assert replay.stderr.startswith("error: --model-text shows the text of live models")
    assert "fix: add --live" in replay.stderr


def _screen_of(command: list[str], env: dict[str, str], deadline_s: float = 60.0) -> pyte.Screen:
    """Run `command` on a pseudo-terminal and return the screen a person would see at the end."""
    screen = pyte.Screen(100, 40)
    stream = pyte.ByteStream(screen)
    main, child = pty.openpty()
    os.set_inheritable(child, True)
    process = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, env=env)
    os.close(child)
    end = time.monotonic() + deadline_s
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    data = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                stream.feed(data)
            elif process.poll() is not None:
                break
        process.wait(timeout=max(end - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    return screen


def test_on_a_terminal_the_text_shows_by_default_and_the_screen_holds_the_answer_once(
    wire_server: WireServer, tmp_path: Path
) -> None:
    _streamed_turns(wire_server)
    config = _ask_config(wire_server, tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TTY_COMPATIBLE", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="100", LINES="40")
    screen = _screen_of(
        [sys.executable, "-c", "from dispatcher.cli import main; main()", *_ask(config, tmp_path)],
        env=env,
    )
    shown = [line.rstrip() for line in screen.display]
    text = "\n".join(shown)
    assert "  ┊ dispatcher (small-local): I will ask the returns specialist." in shown
    assert (
        "  ┊ returns_policy (small-local): Returns within 30 days\\x1b[2J\\x1b]52;c;cHduZWQ=\\x07"
        in shown
    )
    assert "  ┊ dispatcher (small-local): (the answer, printed below)" in shown
    # The live region was wiped: the answer is on screen once, under its rule, and the
    # model's escapes did not clear the screen (the first progress line is still there).
    assert text.count(ANSWER) == 1
    assert shown[shown.index(ANSWER) - 1].strip("─ ") == "answer"
    assert shown[0] == "agent dispatcher on small (dispatcher)"
    assert screen.cursor.hidden is False  # the live region gave the cursor back
