"""Commands run with no network, no secrets, bounded resources, and leave no process behind."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from dispatcher_tools.workspace import WorkspaceToolkit

from dispatcher.errors import ConfigError

# The jail (the default) and the weakest opt-in mode; CI installs bubblewrap, so no skips.
ISOLATIONS = ["auto", "python-guard"]


def make_toolkit(tmp_path: Path, isolation: str = "auto", **options: Any) -> WorkspaceToolkit:
    root = tmp_path / "ws"
    root.mkdir(exist_ok=True)
    timeout = options.pop("command_timeout_s", 20)
    return WorkspaceToolkit(root, command_timeout_s=timeout, isolation=isolation, **options)


def processes_with(marker: str) -> list[int]:
    """Live pids (host view) whose command line contains `marker` (zombies have none)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Poll observable state: SIGKILL is delivered asynchronously."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


@pytest.mark.anyio
@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_network_connect_from_the_sandbox_fails(
    tmp_path: Path, listener: socket.socket, isolation: str
) -> None:
    port = listener.getsockname()[1]
    toolkit = make_toolkit(tmp_path, isolation)
    output = await toolkit.run_command(
        f"python -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        "; print('CONNECTED')\""
    )
    assert output.is_error
    assert "CONNECTED" not in output.content
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing ever reached the listening socket


@pytest.mark.anyio
async def test_namespace_isolation_blocks_non_python_programs_too(
    tmp_path: Path, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    output = await make_toolkit(tmp_path).run_command(
        f"bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' && echo CONNECTED"
    )
    assert "CONNECTED" not in output.content
    with pytest.raises(BlockingIOError):
        listener.accept()


@pytest.mark.anyio
@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_environment_has_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolation: str
) -> None:
    monkeypatch.setenv("FOO_API_KEY", "canary-4d1c7a9e")
    monkeypatch.setenv("GITHUB_TOKEN", "canary-token-55e2")
    monkeypatch.setenv("DB_SECRET", "canary-secret-9f31")
    toolkit = make_toolkit(tmp_path, isolation)
    output = await toolkit.run_command("env")
    assert not output.is_error
    assert "canary" not in output.content
    names = {line.split("=", 1)[0] for line in output.content.splitlines()[1:] if "=" in line}
    assert not {n for n in names if n.endswith(("_API_KEY", "_TOKEN")) or "SECRET" in n}
    assert f"HOME={toolkit.root}" in output.content


@pytest.mark.anyio
async def test_configured_variables_are_passed_but_secret_names_refused(tmp_path: Path) -> None:
    toolkit = make_toolkit(tmp_path, env={"APP_MODE": "test"})
    assert "APP_MODE=test" in (await toolkit.run_command("env")).content
    for name in ("OPENAI_API_KEY", "GH_TOKEN", "DB_PASSWORD", "MY_SECRET"):
        with pytest.raises(ConfigError, match=name):
            make_toolkit(tmp_path, env={name: "x"})


@pytest.mark.anyio
async def test_sandbox_cannot_read_the_parent_environment_through_proc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOO_API_KEY", "canary-7b2e")
    output = await make_toolkit(tmp_path).run_command(
        f"cat /proc/{os.getpid()}/environ /proc/*/environ 2>/dev/null | tr '\\0' '\\n'"
    )
    assert "canary-7b2e" not in output.content


@pytest.mark.anyio
@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_timeout_kills_the_whole_process_group(tmp_path: Path, isolation: str) -> None:
    marker = f"98765.{os.getpid()}{len(isolation)}"
    toolkit = make_toolkit(tmp_path, isolation, command_timeout_s=1)
    started = time.monotonic()
    output = await toolkit.run_command(f"sh -c 'sleep {marker} & sleep {marker}'; sleep {marker}")
    assert time.monotonic() - started < 5
    assert output.signals["timed_out"] is True
    assert output.content.startswith("timed out after 1 s")
    assert wait_until(lambda: not processes_with(marker))


@pytest.mark.anyio
@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_a_background_child_does_not_outlive_the_command(
    tmp_path: Path, isolation: str
) -> None:
    marker = f"98764.{os.getpid()}{len(isolation)}"
    toolkit = make_toolkit(tmp_path, isolation)
    started = time.monotonic()
    output = await toolkit.run_command(f"sleep {marker} > /dev/null 2>&1 & echo started")
    assert not output.is_error and "started" in output.content
    assert time.monotonic() - started < 3
    assert wait_until(lambda: not processes_with(marker))


@pytest.mark.anyio
async def test_a_child_that_leaves_the_group_dies_with_the_namespace(tmp_path: Path) -> None:
    marker = f"98763.{os.getpid()}"
    await make_toolkit(tmp_path).run_command(f"setsid sleep {marker} > /dev/null 2>&1 &")
    assert wait_until(lambda: not processes_with(marker))


@pytest.mark.anyio
@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_cancelling_the_call_kills_the_command(tmp_path: Path, isolation: str) -> None:
    marker = f"98762.{os.getpid()}{len(isolation)}"
    toolkit = make_toolkit(tmp_path, isolation)
    with anyio.move_on_after(1):
        await toolkit.run_command(f"sleep {marker}; echo done > after.txt")
    assert wait_until(lambda: not processes_with(marker))
    assert not (toolkit.root / "after.txt").exists()


@pytest.mark.anyio
async def test_long_output_is_capped_with_a_marker(tmp_path: Path) -> None:
    toolkit = make_toolkit(tmp_path, max_output_bytes=1200)
    output = await toolkit.run_command(
        "python -c \"print('HEAD'); print('x' * 100000); print('TAIL')\""
    )
    assert "HEAD" in output.content and "TAIL" in output.content
    assert "[... 98811 bytes truncated ...]" in output.content
    assert len(output.content.encode()) < 1400


@pytest.mark.anyio
async def test_cpu_limit_stops_a_busy_loop(tmp_path: Path) -> None:
    toolkit = make_toolkit(tmp_path, cpu_s=1)
    started = time.monotonic()
    output = await toolkit.run_command("python -c 'while True: pass'")
    assert time.monotonic() - started < 10
    assert output.is_error and output.signals["timed_out"] is False
    assert "SIGXCPU" in output.content or "SIGKILL" in output.content


@pytest.mark.anyio
async def test_memory_limit_refuses_a_huge_allocation(tmp_path: Path) -> None:
    toolkit = make_toolkit(tmp_path, memory_mb=256)
    output = await toolkit.run_command("python -c 'x = bytearray(1024 ** 3)'")
    assert output.is_error
    assert "MemoryError" in output.content


@pytest.mark.anyio
async def test_file_size_limit_stops_a_huge_file(tmp_path: Path) -> None:
    toolkit = make_toolkit(tmp_path, file_size_mb=1)
    output = await toolkit.run_command(
        "python -c \"open('big.bin', 'wb').write(b'x' * (3 * 1024 * 1024))\""
    )
    assert output.is_error
    assert "File too large" in output.content
    assert (toolkit.root / "big.bin").stat().st_size <= 1024 * 1024


@pytest.mark.anyio
async def test_command_reports_exit_code_and_state_change(tmp_path: Path) -> None:
    toolkit = make_toolkit(tmp_path)
    failing = await toolkit.run_command("echo oops >&2; exit 3")
    assert failing.is_error
    assert failing.content == "exit code 3\noops\n"
    assert failing.signals == {"exit_code": 3, "timed_out": False, "state_changed": False}
    writing = await toolkit.run_command("echo hi > note.txt")
    assert writing.signals["state_changed"] is True
    assert (toolkit.root / "note.txt").read_text() == "hi\n"
