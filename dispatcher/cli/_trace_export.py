"""`dispatcher trace export` (OTLP JSON) and `dispatcher trace html` (a self-contained page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dispatcher.errors import ConfigError, DataError
from dispatcher.trace.events import Event
from dispatcher.trace.reader import RunRef, locate_run, read_run

__all__ = ["check_nesting", "checked_runs_dir", "read_events", "register"]

_FORMATS = ("otlp-json",)

RunArg = Annotated[str, typer.Argument(help="Run id, id prefix, `latest`, or a .jsonl path.")]
OutputOpt = Annotated[Path, typer.Option("-o", "--output", help="File to write.")]
RunsDir = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir",
        envvar="DISPATCHER_RUNS_DIR",
        help="Folder of run traces (default .dispatcher/runs).",
    ),
]


def checked_runs_dir(runs_dir: Path | None) -> Path | None:
    """--runs-dir as given (none yet is fine: no runs); a file there is a mistake."""
    if runs_dir is not None and runs_dir.exists() and not runs_dir.is_dir():
        raise ConfigError(
            f"--runs-dir {runs_dir} is a file, not a folder",
            fix="pass the folder the traces are written to (default .dispatcher/runs)",
        )
    return runs_dir


def read_events(ref: RunRef) -> list[Event]:
    """The events of a run; a file with none (empty, or not a trace) is a user mistake.

    The reader skips an unfinished last line (a killed run), so random bytes read as none.
    """
    try:
        events = read_run(ref)
    except DataError as exc:
        raise ConfigError(
            f"cannot read the trace: {exc}",
            fix="pass a trace written by dispatcher (one JSON event a line); "
            "`dispatcher trace schema` prints the event schema",
        ) from None
    if not events:
        raise ConfigError(
            f"{ref.path} holds no trace events",
            fix="pass a trace written by dispatcher; `dispatcher trace ls` lists the runs",
        )
    return events


# Deeper span trees make the tree and page renderers (recursive) fail; dispatcher's own runs
# nest a few levels (dispatcher, worker, escalation, overwatch).
MAX_NESTING = 100


def check_nesting(events: list[Event], source: Path) -> None:
    """A ConfigError when spans nest deeper than the renderers draw (a trace not ours)."""
    parents = {e.span_id: e.parent_id for e in events}
    depth_of: dict[str, int] = {}
    for start in parents:
        chain: list[str] = []
        span: str | None = start
        while span is not None and span in parents and span not in depth_of:
            if span in chain:  # a cycle: counted once
                break
            chain.append(span)
            span = parents[span]
        depth = depth_of.get(span, 0) if span is not None else 0
        for link in reversed(chain):
            depth += 1
            depth_of[link] = depth
            if depth > MAX_NESTING:
                raise ConfigError(
                    f"{source}: its spans are nested more than {MAX_NESTING} deep "
                    f"(span {link!r}); dispatcher does not write such traces",
                    fix="pass a trace written by dispatcher; `dispatcher trace show --json` "
                    "and `trace export` still read this one",
                )


def _write(output: Path, text: str, source: Path) -> None:
    if output.exists() and output.samefile(source):  # a link to it too
        # Written over, the run's only record would be lost.
        raise ConfigError(
            f"{output} is the trace being read",
            fix="write to another file, e.g. -o run.html or -o spans.json",
        )
    if output.is_dir():
        raise ConfigError(
            f"{output} is a folder", fix="pass a file name, e.g. -o run.html or -o spans.json"
        )
    if not output.parent.is_dir():
        raise ConfigError(
            f"the folder {output.parent} does not exist",
            fix="create it first, or write the file somewhere else with -o",
        )
    output.write_text(text, encoding="utf-8")


def export(
    run: RunArg,
    output: OutputOpt,
    format: Annotated[
        str, typer.Option("--format", "-f", help="Output format: otlp-json.")
    ] = "otlp-json",
    content: Annotated[
        bool,
        typer.Option(
            "--content/--no-content",
            help="Include prompts, outputs and tool arguments (off: metadata only).",
        ),
    ] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Export a past run as OpenTelemetry GenAI spans (OTLP JSON, for Jaeger, Phoenix, ...)."""
    if format not in _FORMATS:
        raise ConfigError(
            f"unknown export format {format!r}", fix=f"use --format {' or '.join(_FORMATS)}"
        )
    ref = locate_run(run, checked_runs_dir(runs_dir))
    events = read_events(ref)
    try:
        from dispatcher.telemetry._otlp_json import export_otlp_json
    except ImportError:
        from dispatcher.telemetry import INSTALL_HINT

        raise ConfigError(
            "the OTLP export needs OpenTelemetry, which is not installed", fix=INSTALL_HINT
        ) from None
    document = export_otlp_json(events, capture_content=content)
    _write(output, json.dumps(document, indent=1) + "\n", ref.path)
    spans = sum(len(s["spans"]) for r in document["resourceSpans"] for s in r["scopeSpans"])
    typer.echo(f"wrote {spans} spans to {output}")


def html(run: RunArg, output: OutputOpt, runs_dir: RunsDir = None) -> None:
    """Write one run as a single HTML file (no network): timeline, escalations, costs."""
    from dispatcher.trace._html import render_html

    ref = locate_run(run, checked_runs_dir(runs_dir))
    events = read_events(ref)
    check_nesting(events, ref.path)
    _write(output, render_html(events), ref.path)
    typer.echo(f"wrote {output} (open it in a browser)")


def register(trace_app: typer.Typer) -> None:
    """Add the commands to `dispatcher trace`."""
    trace_app.command("export")(export)
    trace_app.command("html")(html)
