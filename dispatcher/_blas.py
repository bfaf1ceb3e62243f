"""Caps on BLAS threads while numpy does the small matrix work of embedding and routing.

BLAS thread pools spin while waiting: on a busy 2-core machine two BLAS threads made a
single-prompt MiniLM forward pass 40x slower than one, and fitting the predictive router
(hundreds of 150x150 inversions and thin products) 5x slower. The work here is too small
to gain from threads, so it runs on one by default.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["blas_threads"]


class _BlasThreads:
    """Caps BLAS threads while any capped work runs; restores the process setting after.

    A reference count keeps concurrent callers (one per request thread) from restoring the
    setting under each other.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._controller: Any = None
        self._restore: Any = None

    @contextmanager
    def limit(self, threads: int | None) -> Iterator[None]:
        if threads is None:
            yield
            return
        with self._lock:
            if self._active == 0:
                self._restore = self._apply(threads)
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0 and self._restore is not None:
                    self._restore.restore_original_limits()
                    self._restore = None

    def _apply(self, threads: int) -> Any:
        try:
            if self._controller is None:
                from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

                self._controller = ThreadpoolController()
            return self._controller.limit(limits=threads, user_api="blas")
        except ImportError:
            return None  # without threadpoolctl, OPENBLAS_NUM_THREADS=1 does the same


_BLAS = _BlasThreads()


def blas_threads(threads: int | None = 1) -> Any:
    """A context manager capping BLAS at `threads` (None: leave it alone) while it is open."""
    return _BLAS.limit(threads)
