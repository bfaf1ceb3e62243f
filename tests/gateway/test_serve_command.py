"""The documented start command, `dispatcher serve -c CONFIG --port PORT`, end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from cli_runner import run_cli
from fake_upstream import FakeUpstream
from gateway_config import write_config

HELLO = [{"role": "user", "content": "hello there"}]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from dispatcher.cli import main; main()", *args]


def _start(tmp_path: Path, upstream: FakeUpstream) -> tuple[str, subprocess.Popen[str]]:
    """`dispatcher serve` on a free port, once it answers /readyz (bounded)."""
    config = write_config(tmp_path, upstream.base_url)  # type: ignore[attr-defined]
    port = _free_port()
    env = {**os.environ, "DISPATCHER_RUNS_DIR": str(tmp_path / "runs")}
    process = subprocess.Popen(
        _command("serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:  # wait for the server to answer, bounded
        try:
            if httpx2.get(f"{url}/readyz").status_code == 200:
                return url, process
        except httpx2.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"the gateway did not become ready: {log}")
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path: Path, upstream: FakeUpstream) -> Iterator[str]:
    url, process = _start(tmp_path, upstream)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _relayed_runs(url: str) -> list[str]:
    """A JSON and a streamed request to a relayed model; their run ids."""
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
    create = client.chat.completions.with_raw_response.create
    json_run = create(model="echo", messages=HELLO).headers["x-dispatcher-run-id"]
    with client.chat.completions.with_streaming_response.create(
        model="echo", messages=HELLO, stream=True
    ) as response:
        list(response.parse())
        return [json_run, response.headers["x-dispatcher-run-id"]]


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_answered_requests_traces_outlive_the_gateway(
    tmp_path: Path, upstream: FakeUpstream, capsys: pytest.CaptureFixture[str], stop: int
) -> None:
    url, process = _start(tmp_path, upstream)
    try:
        run_ids = _relayed_runs(url)
    finally:
        process.send_signal(stop)  # SIGKILL: no shutdown code runs at all
        process.wait(timeout=20)
    runs = tmp_path / "runs"
    assert not list(runs.glob("*.jsonl"))  # relayed requests share the process's file
    for run_id in run_ids:
        shown = run_cli(["trace", "show", run_id, "--json", "--runs-dir", str(runs)], capsys)
        assert shown.exit_code == 0, shown.stderr
        events = json.loads(shown.stdout)
        assert [e["kind"] for e in events] == ["run_started", "model_call", "run_finished"]
        assert events[-1]["status"] == "ok" and events[1]["output_tokens"] > 0


def test_the_documented_command_serves_the_openai_sdk(served: str) -> None:
    client = openai.OpenAI(base_url=f"{served}/v1", api_key="none", max_retries=0)
    assert "dispatcher/auto" in [model.id for model in client.models.list()]
    raw = client.chat.completions.with_raw_response.create(model="dispatcher/auto", messages=HELLO)
    assert raw.parse().choices[0].message.content == "answer: hello there"
    assert raw.headers["x-dispatcher-route"] == "weak/brain"
    with client.chat.completions.with_streaming_response.create(
        model="dispatcher/auto", messages=HELLO, stream=True
    ) as response:
        assert response.headers["x-dispatcher-route"] == "weak/brain"
        chunks = list(response.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "answer: hello there"
    )


def test_a_taken_port_is_a_clear_error(tmp_path: Path, upstream: FakeUpstream) -> None:
    config = write_config(tmp_path, upstream.base_url)  # type: ignore[attr-defined]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            _command("serve", "-c", str(config), "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert "error: cannot listen on" in done.stderr and "fix:" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        _command("serve", "-c", str(tmp_path / "nope.yaml")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "error:" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from dispatcher.errors import ConfigError
    from dispatcher.gateway import create_app

    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[gateway\]"'):
        create_app("unused.yaml")


def test_a_host_that_is_not_this_machines_is_not_blamed_on_the_port() -> None:
    # 192.0.2.1 is a documentation address (RFC 5737): binding it fails, nothing is sent.
    # The fix said "pick a free port with --port", which cannot help.
    from dispatcher.cli._serve import _check_port_free
    from dispatcher.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        _check_port_free("192.0.2.1", 8000)
    assert "--host" in (caught.value.fix or "") and "--port" not in (caught.value.fix or "")
    assert "127.0.0.1" in (caught.value.fix or "")


def test_a_model_whose_key_is_not_set_is_told_when_the_gateway_starts(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    # It served 502 upstream_auth to every request for that model, and its operator's
    # terminal said nothing (the client's error does not name the variable, by design).
    from gateway_config import UNSET_KEY_VARIABLE

    _, process = _start(tmp_path, upstream)
    process.terminate()
    process.wait(timeout=10)
    log = process.stderr.read() if process.stderr else ""
    warned = [line for line in log.splitlines() if UNSET_KEY_VARIABLE in line]
    assert warned and warned[0].startswith("warning:"), log
    assert f"export {UNSET_KEY_VARIABLE}=" in log
    assert "Traceback" not in log
