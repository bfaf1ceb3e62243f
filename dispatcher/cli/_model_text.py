"""The models' text as they write it, shown between the progress lines of `ask` and `run --live`.

Each model call's text is a block: a dim `┊` gutter, the agent and the model it came from,
then the text, dimmed and printable (a model's escape sequences are shown, never obeyed).
On a terminal the blocks being written are drawn live below the progress lines (the last
lines that fit); once a call has ended, its block moves into the scrollback, followed by the
call's `model ...` line, as soon as something else happens. Elsewhere (`--model-text` into a
pipe or a log) a block is printed whole, once, after its call. The block that holds the
run's answer is not printed a second time: the report below shows the answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from dispatcher._streaming import ModelTextDelta
from dispatcher.approvals import Approval, ApprovalRequest, Approver
from dispatcher.cli._terminal import printable
from dispatcher.trace.events import EventBase, ModelCall, ModelFallback, ModelRetry

__all__ = ["ModelText", "ModelTextView", "shows_model_text", "watched"]

ModelText = Annotated[
    bool | None,
    typer.Option(
        "--model-text/--no-model-text",
        help="Show the models' text as they write it, under the progress lines (this makes "
        "the adapters stream their requests). Default: on when a person watches a terminal "
        "and --json is not given; off in pipes, logs and CI.",
        show_default=False,
    ),
]

_GUTTER = "  ┊ "
_LABEL = "cyan"
_TEXT = "dim"
# Redraws of the live region per second, by rich's own thread: a fast model writes hundreds
# of words a second, and a redraw per word would cost more than the run.
_REDRAWS_PER_S = 12
# Lines of a block's text kept in the live region, at most (fewer on a short terminal).
_TAIL_LINES = 8


def watched(console: Console) -> bool:
    """True when a person watches `console`: an interactive terminal, not a pipe, a log file
    or a CI job that forces colours (FORCE_COLOR makes rich colour output, not a terminal)."""
    isatty = getattr(console.file, "isatty", None)
    try:
        tty = bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed file
        tty = False
    return tty and console.is_interactive and not os.environ.get("CI")


def shows_model_text(asked: bool | None, console: Console, *, as_json: bool) -> bool:
    """`--model-text` / `--no-model-text` if given, else on for a person at a terminal."""
    if asked is not None:
        return asked
    return not as_json and watched(console)


@dataclass(slots=True)
class _Block:
    """One model call's text; `stats` is its progress line once the call has ended."""

    agent: str | None
    model: str
    # The text as it arrived: appending to one string would copy it all at every word.
    pieces: list[str] = field(default_factory=list)
    stats: str | None = None
    ended: int = 0  # the how-manieth call to end, for printing in the order calls ended

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def tail(self, chars: int) -> tuple[str, bool]:
        """About the last `chars` characters (whole pieces), and whether text was left out."""
        kept: list[str] = []
        size = 0
        for piece in reversed(self.pieces):
            if size >= chars:
                return "".join(reversed(kept)), True
            kept.append(piece)
            size += len(piece)
        return "".join(reversed(kept)), False

    @property
    def label(self) -> str:
        return printable(f"{self.agent} ({self.model})" if self.agent else self.model)

    def made(self, call: ModelCall) -> bool:
        """True if `call` (a trace event) is the call that wrote this block."""
        if self.agent is not None:
            return call.agent == self.agent
        return call.provider_model == self.model

    def lines(self) -> list[str]:
        return printable(self.text.strip("\n").rstrip()).split("\n")


class ModelTextView:
    """Prints progress lines and the models' text in between, in the order things happened.

    Use as a context manager around the run; leaving it (also on an error) prints every
    block still held, so the text that led to a failure stays on screen.
    """

    def __init__(self, console: Console, *, live: bool) -> None:
        """`live`: draw blocks as they are written (an interactive terminal only)."""
        self._console = console
        self._blocks: list[_Block] = []
        self._ended = 0
        self._live = (
            Live(
                console=console,
                refresh_per_second=_REDRAWS_PER_S,
                transient=True,
                get_renderable=self._render,
                vertical_overflow="crop",
            )
            if live
            else None
        )

    def __enter__(self) -> ModelTextView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._commit(every=True)
        finally:
            if self._live is not None:
                self._live.stop()

    def text(self, delta: ModelTextDelta) -> None:
        """A piece of a model call's text."""
        block = next(
            (
                b
                for b in self._blocks
                if b.stats is None and b.agent == delta.agent and b.model == delta.model
            ),
            None,
        )
        if block is None:
            self._commit()  # blocks of calls that have ended were not the last ones
            block = _Block(delta.agent, delta.model)
            self._blocks.append(block)
        block.pieces.append(delta.text)  # drawn by the live region's next refresh

    def event(self, event: EventBase, line: str | None) -> None:
        """A trace event and its progress line (None: the event shows nothing)."""
        if isinstance(event, ModelCall):
            block = next((b for b in self._blocks if b.stats is None and b.made(event)), None)
            if block is not None:
                block.stats = line or ""
                self._ended += 1
                block.ended = self._ended
                self._draw()
                return
        if isinstance(event, ModelRetry | ModelFallback):
            self._commit(every=True)  # the next attempt's text is a block of its own
        if line is None:
            return
        self._commit()
        self._console.print(line, highlight=False)

    def finish(self, answer: str | None) -> None:
        """The run is over: print the blocks still held, the answer's own text only by name."""
        done, self._blocks = self._blocks, []
        for block in sorted(done, key=lambda b: b.ended or len(done) + self._ended):
            is_answer = answer is not None and block.text.strip() == answer.strip()
            self._print(block, is_answer=is_answer)
        self._draw()

    def around(self, approve: Approver | None) -> Approver | None:
        """`approve`, with the live region put away while it may prompt at the terminal."""
        live = self._live
        if approve is None or live is None:
            return approve

        async def paused(request: ApprovalRequest) -> Approval | bool:
            self._commit()  # the text the model wrote before asking stays in view
            live.stop()
            try:
                return await approve(request)
            finally:
                live.start(refresh=True)

        return paused

    def _commit(self, *, every: bool = False) -> None:
        """Print (into the scrollback) the blocks whose call has ended, or all of them."""
        done = [b for b in self._blocks if every or b.stats is not None]
        # Ended calls in the order they ended, then (on `every`) the unfinished ones.
        done.sort(key=lambda b: b.ended or len(self._blocks) + self._ended)
        if not done:
            return
        # Out of the live region first, so no refresh draws a block twice.
        self._blocks = [b for b in self._blocks if not (every or b.stats is not None)]
        for block in done:
            self._print(block)
        self._draw()

    def _print(self, block: _Block, *, is_answer: bool = False) -> None:
        if is_answer:
            # On stderr (--json) the answer is not printed below: it is the JSON's, on stdout.
            where = "in the JSON on stdout" if self._console.stderr else "printed below"
            rows = [self._first(block, Text(f"(the answer, {where})", "italic dim"))]
        else:
            rows = self._rows(block)
        for row in rows:
            self._console.print(row, highlight=False)
        if block.stats:
            self._console.print(block.stats, highlight=False)

    def _rows(self, block: _Block) -> list[Text]:
        """The block's text as printed: the label and first line, then one row a line."""
        lines = block.lines()
        if not any(lines):
            return []
        gutter = Text(_GUTTER, _TEXT)
        return [
            self._first(block, Text(lines[0], _TEXT)),
            *(gutter + Text(line, _TEXT) for line in lines[1:]),
        ]

    @staticmethod
    def _first(block: _Block, rest: Text) -> Text:
        return Text(_GUTTER, _TEXT) + Text(block.label, _LABEL) + Text(": ", _TEXT) + rest

    def _draw(self) -> None:
        """Redraw now: blocks were added or removed (new text waits for the next refresh)."""
        if self._live is not None and self._live.is_started:
            self._live.refresh()

    def _render(self) -> Group:
        """The live region: each held block's label and the last lines of its text.

        Called from rich's refresh thread: it reads a copy of the block list, which the event
        loop replaces rather than edits in place when it prints blocks.
        """
        blocks = list(self._blocks)
        width = max(self._console.width, 20)
        room = max(self._console.height - 4, 4) // max(len(blocks), 1)
        tail = max(min(_TAIL_LINES, room - 1), 1)
        parts: list[Text] = []
        for block in blocks:
            # Only the end of a long text can show: format no more of it than that needs.
            end, cut = block.tail((tail + 1) * width * 2)
            rows = [
                row
                for text in self._rows(_Block(block.agent, block.model, [end]))
                for row in text.wrap(self._console, width)
            ]
            if len(rows) > tail + 1 or cut:
                rows = [self._first(block, Text("…", _TEXT)), *rows[-tail:]]
            parts.extend(rows)
            if block.stats:
                parts.append(Text.from_markup(block.stats))
        return Group(*parts)
