"""Keep the head and the tail of a command's output within a byte budget."""

from __future__ import annotations

__all__ = ["OutputCapture", "truncation_marker"]


def truncation_marker(dropped: int) -> str:
    return f"\n[... {dropped} bytes truncated ...]\n"


class OutputCapture:
    """Bounded buffer: the first third and the last two thirds of `limit` bytes survive.

    The tail gets more room because test summaries and tracebacks end there.
    """

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 3
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    @property
    def dropped(self) -> int:
        return max(self.total - len(self.head) - self.tail_limit, 0)

    def text(self) -> str:
        """The kept output, with a visible marker where bytes were dropped."""
        if not self.dropped:
            return (self.head + self.tail).decode(errors="replace")
        tail = self.tail[-self.tail_limit :]
        return (
            self.head.decode(errors="replace")
            + truncation_marker(self.dropped)
            + tail.decode(errors="replace")
        )
