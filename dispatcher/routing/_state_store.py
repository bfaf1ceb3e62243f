"""A learning router's JSON state file, shared by every process that uses it.

`JsonStateStore` is the seam: `transact(change)` reads the latest state, applies `change` and saves
the result as one step no other process can interleave with, so concurrent updates are never
lost. `FileStateStore` does it with an exclusive lock file beside the JSON state. (A shared
Redis store plugs into the bandit through `use_store` instead: see dispatcher/state.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from dispatcher.routing._state import read_json_state, write_json_state

__all__ = ["FileStateStore", "JsonStateStore"]


class JsonStateStore(Protocol):
    """A router's persistent state: read it, or change it atomically across processes."""

    def read(self) -> Any:
        """The saved state, or None when nothing was saved yet."""
        ...

    def transact(self, change: Callable[[Any], Any]) -> Any:
        """Save `change(latest state or None)`, with no other writer in between; return it."""
        ...


class FileStateStore:
    """A JSON file replaced atomically, guarded by an `flock` on `<file>.lock`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read(self) -> Any:
        return read_json_state(self.path)

    def transact(self, change: Callable[[Any], Any]) -> Any:
        with self._locked():
            state = change(read_json_state(self.path))
            write_json_state(self.path, state)
        return state

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes
            yield
        finally:
            os.close(fd)
