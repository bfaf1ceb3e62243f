"""Batch progress on stderr: a live bar on a terminal, plain lines (at most one a second)
otherwise, each with done / failed / cost so far."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["BatchProgress"]


class BatchProgress:
    """Counts results as they arrive and shows the tally."""

    def __init__(self, total: int, skipped: int, *, stream: TextIO | None = None) -> None:
        self.total = total
        self.skipped = skipped
        self.done = 0
        self.failed = 0
        self.cost_usd = 0.0
        self._stream = stream or sys.stderr
        self._last_line = 0.0
        self._bar: Any = None
        self._bar_task: Any = None

    def __enter__(self) -> BatchProgress:
        if self._stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[tally]}"),
                console=Console(file=self._stream),
                transient=False,
            )
            self._bar.start()
            self._bar_task = self._bar.add_task("batch", total=self.total, tally=self._tally())
        else:
            self._print(f"batch: {self.total} to run, {self.skipped} already done")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._print(f"batch: {self.summary()}")

    def add(self, result: dict[str, Any]) -> None:
        self.done += 1
        if result.get("status") != "ok":
            self.failed += 1
        cost = result.get("cost_usd")
        if isinstance(cost, int | float):
            self.cost_usd += cost
        if self._bar is not None:
            self._bar.update(self._bar_task, completed=self.done, tally=self._tally())
            return
        now = time.monotonic()
        if now - self._last_line >= 1.0 or self.done == self.total:
            self._last_line = now
            self._print(f"batch: {self.done}/{self.total} {self._tally()}")

    def _tally(self) -> str:
        return f"done {self.done} · failed {self.failed} · cost ${self.cost_usd:.4f}"

    def summary(self) -> str:
        return (
            f"{self.done} of {self.total} run ({self.failed} not ok), "
            f"{self.skipped} skipped as already done, cost ${self.cost_usd:.4f}"
        )

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)
