"""The trace page in a real headless browser (Debian `chromium`, installed by .ci/run).

Loads with no console message and no script error, and shows the escalation episode after its
script ran. A screenshot is kept for CI: `$DISPATCHER_ARTIFACTS_DIR/trace_html_<case>.png`
(default `.dispatcher/artifacts/` in the checkout).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from long_trace import write_long_trace
from typer.testing import CliRunner

from dispatcher.cli.app import _register_subcommands, app

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<img src="http://203.0.113.9/x.png"><script>alert(1)</script>'
_register_subcommands()


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    # Never skipped: CI installs it (.ci/run); locally, `apt-get install -y chromium`.
    assert found, "chromium is not installed: apt-get install -y chromium (as root)"
    return found


def _browse(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
             "--hide-scrollbars", *extra, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


def _artifacts() -> Path:
    directory = Path(os.environ.get("DISPATCHER_ARTIFACTS_DIR") or ROOT / ".dispatcher/artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _sql_report_page(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "examples/sql_report"), "--runs-dir", str(runs)]
    )
    assert result.exit_code == 0, result.output
    page = tmp_path / "run.html"
    result = CliRunner().invoke(
        app, ["trace", "html", "latest", "-o", str(page), "--runs-dir", str(runs)]
    )
    assert result.exit_code == 0, result.output
    return page


def _long_page(tmp_path: Path) -> Path:
    trace = write_long_trace(tmp_path / "long.jsonl", steps=500, hostile=HOSTILE)
    page = tmp_path / "long.html"
    result = CliRunner().invoke(app, ["trace", "html", str(trace), "-o", str(page)])
    assert result.exit_code == 0, result.output
    return page


@pytest.mark.parametrize(
    ("case", "guidance"),
    [("sql_report", "UnitPrice"), ("500_steps", "Run the linter once on the whole tree")],
)
def test_page_loads_cleanly_and_shows_the_episode(case: str, guidance: str, tmp_path: Path) -> None:
    page = _sql_report_page(tmp_path) if case == "sql_report" else _long_page(tmp_path)
    loaded = _browse(page, "--dump-dom")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    console = [line for line in loaded.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no error, no CSP violation, no log line of any kind
    dom = loaded.stdout
    html_tag = dom[: dom.index(">", dom.index("<html")) + 1]
    assert 'data-ready="1"' in html_tag and "data-js-errors" not in html_tag
    episode = dom[dom.index('id="episode-1"') :][:4000]
    assert "Escalation 1" in episode and "<dt>why</dt>" in episode and "<dt>then</dt>" in episode
    assert guidance in episode
    shown = re.search(r'<span id="shown">(\d+)</span>', dom)
    assert shown and int(shown.group(1)) > 0  # the script counted the rows it shows
    shot = _artifacts() / f"trace_html_{case}.png"
    shot.unlink(missing_ok=True)
    taken = _browse(page, "--window-size=1280,2000", f"--screenshot={shot}")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.stat().st_size > 10_000
