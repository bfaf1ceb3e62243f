"""File tools stay inside the workspace and report state changes for the stall detector."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from dispatcher_tools.workspace import WorkspaceToolkit

from dispatcher.errors import ConfigError


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("top secret\n")
    return secret


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("../outside/secret.txt", "parent"),
        ("src/../../outside/secret.txt", "parent"),
        ("/etc/passwd", "absolute"),
        ("~/secret.txt", "absolute"),
        ("C:/Windows/win.ini", "absolute"),
    ],
)
def test_paths_leaving_the_workspace_are_rejected(
    workspace: WorkspaceToolkit, path: str, kind: str
) -> None:
    for output in (
        workspace.read_file(path),
        workspace.write_file(path, "x"),
        workspace.patch_file(path, "a", "b"),
        workspace.list_files(path),
    ):
        assert output.is_error
        assert output.signals["workspace_error"] == kind
        assert "relative to the workspace root" in output.content


def test_symlink_escapes_are_rejected(workspace: WorkspaceToolkit, outside: Path) -> None:
    os.symlink(outside, workspace.root / "file_link")
    os.symlink(outside.parent, workspace.root / "dir_link")
    for path in ("file_link", "dir_link/secret.txt", "dir_link"):
        output = workspace.read_file(path)
        assert output.signals["workspace_error"] == "symlink_escape", path
    assert workspace.write_file("dir_link/new.txt", "x").is_error
    assert workspace.patch_file("file_link", "top", "no").is_error
    assert workspace.list_files("dir_link").is_error
    assert outside.read_text() == "top secret\n"
    assert not (outside.parent / "new.txt").exists()


def test_symlinks_within_the_workspace_work(workspace: WorkspaceToolkit) -> None:
    (workspace.root / "real.txt").write_text("hello\n")
    os.symlink("real.txt", workspace.root / "alias.txt")
    assert workspace.read_file("alias.txt").content == "hello\n"


def test_write_reports_state_changes(workspace: WorkspaceToolkit) -> None:
    created = workspace.write_file("src/app.py", "x = 1\n")
    assert created.signals == {"state_changed": True, "path": "src/app.py"}
    assert "created" in created.content
    assert (workspace.root / "src" / "app.py").read_text() == "x = 1\n"
    same = workspace.write_file("src/app.py", "x = 1\n")
    assert same.signals["state_changed"] is False
    updated = workspace.write_file("src/app.py", "x = 2\n")
    assert updated.signals["state_changed"] is True and "updated" in updated.content


def test_patch_replaces_exactly_one_occurrence(workspace: WorkspaceToolkit) -> None:
    workspace.write_file("calc.py", "def add(a, b):\n    return a - b\n")
    output = workspace.patch_file("calc.py", "return a - b", "return a + b")
    assert not output.is_error
    assert output.signals == {"state_changed": True, "path": "calc.py"}
    assert "line 2" in output.content
    assert (workspace.root / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_patch_with_no_match_explains_and_changes_nothing(workspace: WorkspaceToolkit) -> None:
    workspace.write_file("calc.py", "def add(a, b):\n    return a - b\n")
    output = workspace.patch_file("calc.py", "return a-b", "return a + b")
    assert output.is_error
    assert output.signals["workspace_error"] == "patch_no_match"
    assert output.signals["state_changed"] is False
    assert "not found" in output.content
    spacing = workspace.patch_file("calc.py", "def add(a, b):\n  return a - b", "x")
    assert "indentation or spacing start at line 1" in spacing.content
    assert (workspace.root / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"


def test_patch_with_several_matches_asks_for_more_context(workspace: WorkspaceToolkit) -> None:
    workspace.write_file("a.py", "x = 1\ny = 2\nx = 1\n")
    output = workspace.patch_file("a.py", "x = 1", "x = 3")
    assert output.signals["workspace_error"] == "patch_ambiguous"
    assert "2 times" in output.content and "lines 1, 3" in output.content
    assert workspace.patch_file("a.py", "", "x").signals["workspace_error"] == "patch_empty"


def test_patch_matches_a_crlf_file(workspace: WorkspaceToolkit) -> None:
    (workspace.root / "w.txt").write_bytes(b"one\r\ntwo\r\n")
    assert not workspace.patch_file("w.txt", "one\ntwo", "1\n2").is_error
    assert (workspace.root / "w.txt").read_bytes() == b"1\r\n2\r\n"


def test_read_file_ranges_and_truncation_marker(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "big.txt").write_text("".join(f"line {i}\n" for i in range(1, 1001)))
    toolkit = WorkspaceToolkit(root, max_output_bytes=1000)
    part = toolkit.read_file("big.txt", start_line=3, end_line=4)
    assert part.content == "line 3\nline 4\n\n[lines 3-4 of 1000]"
    whole = toolkit.read_file("big.txt")
    assert "bytes truncated ...]" in whole.content
    assert "use start_line to read on" in whole.content
    assert len(whole.content.encode()) < 1200


def test_read_missing_and_binary_files(workspace: WorkspaceToolkit) -> None:
    assert workspace.read_file("nope.py").signals["workspace_error"] == "not_found"
    (workspace.root / "blob.bin").write_bytes(b"\x00\x01\x02")
    assert workspace.read_file("blob.bin").signals["workspace_error"] == "binary"


def test_file_system_errors_come_back_as_tool_errors(workspace: WorkspaceToolkit) -> None:
    workspace.write_file("a.txt", "x")
    output = workspace.write_file("a.txt/b.txt", "y")
    assert output.is_error
    assert output.signals == {"workspace_error": "os_error", "state_changed": False}
    assert "Not a directory" in output.content or "exists" in output.content


def test_list_files_skips_caches(workspace: WorkspaceToolkit) -> None:
    workspace.write_file("pkg/mod.py", "x = 1\n")
    (workspace.root / "pkg" / "__pycache__").mkdir()
    (workspace.root / "pkg" / "__pycache__" / "mod.pyc").write_bytes(b"x")
    output = workspace.list_files()
    assert output.content.splitlines() == ["pkg/", "pkg/mod.py (6 bytes)"]


def test_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="root"):
        WorkspaceToolkit(tmp_path / "missing")
    with pytest.raises(ConfigError, match="isolation"):
        WorkspaceToolkit(tmp_path, isolation="chroot")


# -- links and special files made from inside (by a command) or planted from outside --------


def _all_file_tools_refuse(workspace: WorkspaceToolkit, path: str) -> list[str]:
    outputs = [
        workspace.read_file(path),
        workspace.write_file(path, "planted\n"),
        workspace.patch_file(path, "a", "b"),
    ]
    assert all(output.is_error for output in outputs), [o.content for o in outputs]
    return [str(output.signals["workspace_error"]) for output in outputs]


def test_a_hard_link_to_an_outside_file_is_neither_read_nor_written(
    workspace: WorkspaceToolkit, outside: Path
) -> None:
    os.link(outside, workspace.root / "hard.txt")
    kinds = _all_file_tools_refuse(workspace, "hard.txt")
    assert set(kinds) == {"hard_link"}
    assert outside.read_text() == "top secret\n"
    assert "top secret" not in workspace.read_file("hard.txt").content


def test_a_fifo_never_blocks_a_file_tool(workspace: WorkspaceToolkit) -> None:
    os.mkfifo(workspace.root / "pipe")
    started = time.monotonic()
    kinds = _all_file_tools_refuse(workspace, "pipe")
    assert time.monotonic() - started < 2
    assert set(kinds) <= {"not_regular", "not_found"}
    assert "not_regular" in kinds


def test_a_device_node_is_never_opened(workspace: WorkspaceToolkit) -> None:
    if os.geteuid() != 0:
        # Only root can make device nodes, so the case cannot arise for other users.
        with pytest.raises(PermissionError):
            os.mknod(workspace.root / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        return
    os.mknod(workspace.root / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    kinds = _all_file_tools_refuse(workspace, "zero")
    assert "not_regular" in kinds


@pytest.mark.anyio
async def test_links_made_by_a_command_do_not_fool_the_file_tools(
    workspace: WorkspaceToolkit, outside: Path
) -> None:
    made = await workspace.run_command(
        f"ln -s {outside} sym.txt; ln -s {outside.parent} symdir; mkfifo fifo; "
        "mkdir -p sub && ln -s /etc sub/etc; ln /etc/hostname hard 2>/dev/null; true"
    )
    assert not made.is_error, made.content
    assert not os.path.lexists(workspace.root / "hard")  # the jail refuses the hard link
    for path in ("sym.txt", "symdir/secret.txt", "sub/etc/passwd", "fifo"):
        for output in (workspace.read_file(path), workspace.write_file(path, "x")):
            assert output.is_error, path
            assert "top secret" not in output.content and "root:" not in output.content
    assert outside.read_text() == "top secret\n"


def test_a_parent_directory_swapped_for_a_symlink_is_not_followed(
    workspace: WorkspaceToolkit, outside: Path
) -> None:
    # The check-then-open race: the tools open every path component with O_NOFOLLOW.
    from dispatcher_tools.workspace._files import open_in_workspace

    (workspace.root / "src").mkdir()
    (workspace.root / "src" / "secret.txt").write_text("mine\n")
    checked = workspace.root / "src" / "secret.txt"
    os.rename(workspace.root / "src", workspace.root / "src.old")
    os.symlink(outside.parent, workspace.root / "src")
    with pytest.raises(OSError):
        open_in_workspace(workspace.root, checked, write=False)
    with pytest.raises(OSError):
        open_in_workspace(workspace.root, checked, write=True)
    assert outside.read_text() == "top secret\n"


@pytest.mark.anyio
async def test_a_file_name_that_is_not_utf8_does_not_break_the_tools(
    workspace: WorkspaceToolkit,
) -> None:
    # A command may create any byte string as a name; the tools after it must keep working.
    made = await workspace.run_command("touch \"$(printf 'bad\\377name')\"")
    assert not made.is_error, made.content
    again = await workspace.run_command("echo still here")
    assert not again.is_error and "still here" in again.content
    listing = workspace.list_files(".")
    assert not listing.is_error
    listing.content.encode("utf-8")  # text a model request and a trace line can carry
    assert "bad" in listing.content and "name" in listing.content


@pytest.mark.parametrize("text", ["\udc80", "a\ud800b"])
def test_lone_surrogates_from_a_model_are_tool_errors(
    workspace: WorkspaceToolkit, text: str
) -> None:
    # JSON may escape a lone surrogate ("\ud800"): not Unicode text, so neither a name nor content.
    workspace.write_file("ok.txt", "hello\n")
    for output in (
        workspace.write_file(f"x{text}.txt", "content"),
        workspace.write_file("y.txt", text),
        workspace.patch_file("ok.txt", "hello", text),
        workspace.read_file(f"x{text}.txt"),
    ):
        assert output.is_error
        assert output.signals["workspace_error"] == "invalid_text"
        output.content.encode("utf-8")
    assert sorted(p.name for p in workspace.root.iterdir()) == ["ok.txt"]


@pytest.mark.parametrize(("start", "end"), [(3, 1), (1, -1), (0, 0)])
def test_an_impossible_line_range_is_a_tool_error(
    workspace: WorkspaceToolkit, start: int, end: int
) -> None:
    workspace.write_file("a.txt", "l1\nl2\nl3\n")
    output = workspace.read_file("a.txt", start_line=start, end_line=end)
    assert output.is_error
    assert output.signals["workspace_error"] == "bad_range"


def test_a_file_larger_than_the_file_limit_is_not_read_into_memory(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    toolkit = WorkspaceToolkit(root, file_size_mb=1)
    with (root / "huge.log").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024 * 1024)  # sparse: 50 GiB that take no disk
    for output in (
        toolkit.read_file("huge.log"),
        toolkit.patch_file("huge.log", "a", "b"),
    ):
        assert output.is_error
        assert output.signals["workspace_error"] == "too_large"
        assert "run_command" in output.content  # how to look at it instead
    replaced = toolkit.write_file("huge.log", "small now\n")  # overwriting stays possible
    assert not replaced.is_error, replaced.content
    assert (root / "huge.log").read_text() == "small now\n"
