"""An example's workspace is copied with its links kept as links: a link to a file outside
does not become a copy of that file, which the file tools would then serve to the model."""

from __future__ import annotations

import shutil
from pathlib import Path

from dispatcher_tools.workspace import WorkspaceToolkit

from dispatcher.examples import load_example

EXAMPLE = Path(__file__).parents[2] / "examples" / "fix_failing_test"


def test_a_link_out_of_the_workspace_stays_a_link(tmp_path: Path) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret 7f3a\n")
    spec = load_example(example)
    assert spec.workspace is not None
    (spec.workspace / "notes.txt").symlink_to(secret)
    copy = tmp_path / "run.workspace"
    spec.build_registry(workspace_dir=copy)
    assert (copy / "notes.txt").is_symlink()
    output = WorkspaceToolkit(copy).read_file("notes.txt")
    assert output.is_error and "top secret" not in output.content
