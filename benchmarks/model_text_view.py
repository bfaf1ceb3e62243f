"""What showing the models' text costs `ask` / `run --live` (dispatcher/cli/_model_text.py).

Two numbers, on a fake 200x50 terminal: the time to take one word (`ModelTextView.text`, on
the event loop, once per delta) while a block grows to `--words` words, and the time of one
redraw of the live region (`_render` plus writing it, on rich's thread, 12 times a second)
once the block is that long. A redraw formats only the end of the text, so it does not grow
with the block; taking a word does not either (the text is kept as a list of pieces).

    python benchmarks/model_text_view.py [--words 100000] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import time

from rich.console import Console

from dispatcher._streaming import ModelTextDelta
from dispatcher.cli._model_text import ModelTextView


def measure(words: int) -> dict[str, float]:
    console = Console(
        file=io.StringIO(), force_terminal=True, force_interactive=True, width=200, height=50
    )
    view = ModelTextView(console, live=False)
    deltas = [
        ModelTextDelta("model", f"word{n} " + ("\n" if n % 12 == 0 else ""), "agent")
        for n in range(words)
    ]
    started = time.perf_counter()
    for delta in deltas:
        view.text(delta)
    per_word_us = (time.perf_counter() - started) / words * 1e6
    redraws = 100
    started = time.perf_counter()
    for _ in range(redraws):
        console.print(view._render())
    redraw_ms = (time.perf_counter() - started) / redraws * 1e3
    return {"words": words, "per_word_us": per_word_us, "redraw_ms": redraw_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.words)
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{result['words']:,} words: {result['per_word_us']:.2f} us a word, "
        f"{result['redraw_ms']:.2f} ms a redraw of the live region"
    )


if __name__ == "__main__":
    main()
