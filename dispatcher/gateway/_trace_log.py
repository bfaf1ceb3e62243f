"""One JSONL trace file per gateway process for relayed requests (`traces: per_process`,
the default).

A file per request costs a busy gateway CPU that appending three lines to an open file does
not (at 50 concurrent clients, up to half its requests per CPU-second: benchmarks/RESULTS.md
section 6), so every relayed request's events, tagged with their run id, go to one file per
process: `<runs dir>/gateway/<start>-<pid>.jsonl`. `dispatcher trace show <run id>` finds a run
inside it. Lines are written unbuffered as they happen (one `write` each, to the page
cache), so a gateway killed mid-request loses nothing already traced; shutdown closes it.
Runs of `dispatcher/auto` and `agent/<name>` keep a file each either way.
"""

from __future__ import annotations

import os
from pathlib import Path

from dispatcher.runner import new_run_id
from dispatcher.trace._shared_files import SHARED_DIR
from dispatcher.trace.sink import JsonlTraceSink

__all__ = ["ProcessTraceLog"]


class ProcessTraceLog(JsonlTraceSink):
    """A trace sink shared by runs: a run's end does not close it, `shutdown()` does."""

    def __init__(self, runs_dir: Path) -> None:
        super().__init__(runs_dir / SHARED_DIR / f"{new_run_id()}-{os.getpid()}.jsonl")

    def close(self) -> None:
        return None  # one run ended; the file stays open for the next

    def shutdown(self) -> None:
        super().close()
