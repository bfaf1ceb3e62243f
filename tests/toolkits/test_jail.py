"""Commands run in a bubblewrap jail: read-only host, private /tmp, unprivileged uid, no network,
no host IPC, a bounded process count (root included), and nothing survives a kill -9.

CI installs bubblewrap (.ci/run), so none of these is ever skipped there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dispatcher_tools.workspace import WorkspaceToolkit
from test_sandbox import make_toolkit, processes_with, wait_until

from dispatcher.errors import ConfigError

pytestmark = pytest.mark.anyio


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A world-writable host directory outside the workspace that the jail can see (read-only).

    /tmp (where tmp_path lives) is private in the jail, so this one is elsewhere.
    """
    base = Path("/var/lib") if os.geteuid() == 0 else Path.home()
    directory = Path(tempfile.mkdtemp(prefix="dispatcher-jail-test-", dir=base))
    directory.chmod(0o777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


async def test_commands_run_as_an_unprivileged_uid(tmp_path: Path) -> None:
    output = await make_toolkit(tmp_path).run_command("id -u; id -G")
    uid, groups = output.content.splitlines()[1:3]
    assert uid != "0" and "0" not in groups.split()
    if os.geteuid() != 0:
        assert uid == str(os.geteuid())


async def test_root_only_files_cannot_be_read(tmp_path: Path, host_dir: Path) -> None:
    private = host_dir / "root-only.txt"
    private.write_text("top secret 51c9\n")
    private.chmod(0o600)
    output = await make_toolkit(tmp_path).run_command(f"cat {private} /etc/shadow")
    assert output.is_error
    assert "top secret 51c9" not in output.content
    assert "root:" not in output.content
    assert output.content.count("Permission denied") == 2


async def test_nothing_outside_the_workspace_can_be_written(tmp_path: Path, host_dir: Path) -> None:
    toolkit = make_toolkit(tmp_path)
    targets = [host_dir / "planted.txt", Path("/etc/planted-by-jail"), Path("/usr/planted")]
    script = "; ".join(f"echo x > {target}" for target in targets)
    output = await toolkit.run_command(f"{script}; echo y > inside.txt")
    assert not any(target.exists() for target in targets)
    assert "Read-only file system" in output.content
    assert (toolkit.root / "inside.txt").read_text() == "y\n"


async def test_tmp_is_private_and_empty(tmp_path: Path) -> None:
    marker = f"host-tmp-{uuid.uuid4().hex}"
    host_file = Path("/tmp") / marker
    host_file.write_text("host\n")
    try:
        output = await make_toolkit(tmp_path).run_command(
            f"ls /tmp /dev/shm /run; cat /tmp/{marker}; echo jail > /tmp/jail-{marker}"
        )
        listing, _, errors = output.content.partition("cat: ")
        assert marker not in listing
        assert "No such file" in errors and "jail-" not in errors  # /tmp is writable
        assert not (Path("/tmp") / f"jail-{marker}").exists()
    finally:
        host_file.unlink()


@pytest.fixture
def host_unix_socket(host_dir: Path) -> Iterator[Path]:
    path = host_dir / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    path.chmod(0o777)
    server.listen()
    yield path
    server.close()


async def test_host_unix_sockets_cannot_be_reached(tmp_path: Path, host_unix_socket: Path) -> None:
    abstract = f"jail-abstract-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0" + abstract)
    server.listen()
    try:
        code = textwrap.dedent(
            f"""
            import socket
            for address in ({str(host_unix_socket)!r}, "\\0{abstract}"):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(address)
                    print("CONNECTED", address)
                except OSError as exc:
                    print("refused", type(exc).__name__)
            """
        )
        toolkit = make_toolkit(tmp_path)
        (toolkit.root / "probe.py").write_text(code)
        output = await toolkit.run_command("python probe.py")
        assert "CONNECTED" not in output.content
        assert output.content.count("refused") == 2
    finally:
        server.close()


async def test_namespaces_differ_from_the_host(tmp_path: Path) -> None:
    output = await make_toolkit(tmp_path).run_command(
        "for ns in ipc net pid uts; do readlink /proc/self/ns/$ns; done"
    )
    inside = output.content.splitlines()[1:]
    host = [os.readlink(f"/proc/self/ns/{ns}") for ns in ("ipc", "net", "pid", "uts")]
    assert len(inside) == 4
    assert all(a != b for a, b in zip(inside, host, strict=True))


async def test_a_hard_link_to_a_host_file_cannot_be_made(tmp_path: Path, host_dir: Path) -> None:
    target = host_dir / "target.txt"
    target.write_text("host\n")
    target.chmod(0o666)
    output = await make_toolkit(tmp_path).run_command(f"ln {target} link; ln /etc/passwd link2")
    assert output.is_error
    assert not (tmp_path / "ws" / "link").exists() and not (tmp_path / "ws" / "link2").exists()


async def test_process_count_is_bounded_for_root_too(tmp_path: Path) -> None:
    toolkit = make_toolkit(tmp_path, max_processes=20)
    code = textwrap.dedent(
        """
        import os, time
        started = 0
        try:
            for _ in range(300):
                if os.fork() == 0:
                    time.sleep(3)
                    os._exit(0)
                started += 1
        except OSError as exc:
            print("refused", exc.errno)
        print("started", started)
        """
    )
    (toolkit.root / "bomb.py").write_text(code)
    output = await toolkit.run_command("python bomb.py")
    started = int(output.content.rsplit("started", 1)[1].split()[0])
    assert "refused" in output.content
    assert started <= 20


async def test_the_workspace_stays_writable_across_file_tools_and_commands(
    tmp_path: Path,
) -> None:
    toolkit = make_toolkit(tmp_path)
    assert not toolkit.write_file("pkg/mod.py", "x = 1\n").is_error
    output = await toolkit.run_command("echo 'x = 2' > pkg/mod.py && mkdir -p pkg/sub && echo ok")
    assert not output.is_error, output.content
    assert toolkit.read_file("pkg/mod.py").content == "x = 2\n"
    assert not toolkit.patch_file("pkg/mod.py", "x = 2", "x = 3").is_error


async def test_handing_the_workspace_over_never_chowns_a_hard_linked_host_file(
    tmp_path: Path, host_dir: Path
) -> None:
    toolkit = make_toolkit(tmp_path)
    target = host_dir / "host-owned.txt"
    target.write_text("host\n")
    os.link(target, toolkit.root / "linked.txt")
    before = target.stat()
    await toolkit.run_command("true")
    after = target.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)


def test_a_missing_bwrap_is_refused_with_the_install_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ConfigError) as raised:
        make_toolkit(tmp_path)
    message = str(raised.value)
    assert "bubblewrap" in message and "apt-get install -y bubblewrap" in message
    assert "isolation: namespaces" in message
    # The weaker mode is an explicit, documented opt-in.
    assert make_toolkit(tmp_path, isolation="python-guard").root.is_dir()


def test_kill_9_of_the_running_process_leaves_no_jailed_process(tmp_path: Path) -> None:
    marker = f"98761.{os.getpid()}"
    root = tmp_path / "ws"
    root.mkdir()
    script = textwrap.dedent(
        f"""
        import anyio
        from dispatcher_tools.workspace import WorkspaceToolkit

        async def main() -> None:
            toolkit = WorkspaceToolkit({str(root)!r}, command_timeout_s=60)
            await toolkit.run_command("sleep {marker} & setsid sleep {marker}1 & echo up; wait")

        anyio.run(main)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    try:
        assert wait_until(lambda: len(processes_with(marker)) >= 2, timeout_s=20)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert wait_until(lambda: not processes_with(marker), timeout_s=10)
    finally:
        if child.poll() is None:
            child.kill()


def test_the_jail_is_the_default(tmp_path: Path) -> None:
    toolkit = WorkspaceToolkit(tmp_path)
    assert toolkit.sandbox.uses_jail


async def test_a_hidden_folder_on_sys_path_is_not_exposed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /tmp is private in the jail; a folder of it on sys.path (a script's folder, a checkout)
    # must stay hidden, with whatever it holds.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".env").write_text("OPENAI_API_KEY=sk-from-a-dotenv-file-0000\n")
    (checkout / ".env").chmod(0o644)
    tmp_path.chmod(0o755)
    monkeypatch.syspath_prepend(str(checkout))
    output = await make_toolkit(tmp_path).run_command(f"cat {checkout}/.env")
    assert output.is_error and "sk-from-a-dotenv" not in output.content


@pytest.mark.parametrize("root", ["/", "/etc", "/usr", "/tmp", "venv", "package"])
def test_a_workspace_root_that_would_open_the_jail_is_refused(root: str) -> None:
    import dispatcher_tools.workspace as package

    path = {
        "venv": Path(sys.prefix),
        "package": Path(package.__file__).parents[2],  # the checkout holding the launcher
    }.get(root, Path(root))
    with pytest.raises(ConfigError, match="cannot be jailed") as raised:
        WorkspaceToolkit(path)
    assert raised.value.fix and "project folder" in raised.value.fix


def _swap_for_link(folder: Path, target: Path) -> None:
    if folder.is_dir() and not folder.is_symlink():
        folder.rename(folder.with_name("moved"))
        folder.symlink_to(target)


@pytest.mark.parametrize("moment", ["after_the_link_check", "after_the_listing"])
def test_a_folder_swapped_for_a_symlink_while_the_workspace_is_handed_over_is_not_followed(
    tmp_path: Path, host_dir: Path, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    # Another jailed command (a parallel agent, a concurrent gateway request on the same
    # workspace) swaps a folder for a link to a host folder while root hands the workspace
    # over: os.walk checked for a link, then listed the folder by path, following a link
    # swapped in between, and root chowned the host's files to the sandbox uid.
    from dispatcher_tools.workspace import _jail

    workspace = tmp_path / "ws"
    sub = workspace / "sub"
    sub.mkdir(parents=True)
    (sub / "mine.txt").write_text("mine\n")
    target = host_dir / "host-owned.txt"
    target.write_text("host\n")
    before = target.stat()
    if moment == "after_the_link_check":
        real_islink = os.path.islink

        def racing_islink(path: str | os.PathLike[str]) -> bool:
            result = real_islink(path)
            if Path(path) == sub:
                _swap_for_link(sub, host_dir)
            return result

        monkeypatch.setattr(os.path, "islink", racing_islink)
    else:
        real_chown = os.chown

        def racing_chown(path: object, *args: object, **kwargs: object) -> None:
            real_chown(path, *args, **kwargs)  # type: ignore[arg-type]
            if str(path) in (str(sub), "sub"):
                _swap_for_link(sub, host_dir)

        monkeypatch.setattr(os, "chown", racing_chown)
    _jail.hand_workspace_to(workspace, 65534)
    after = target.stat()
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
