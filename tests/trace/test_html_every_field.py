"""Every text field of every event kind reaches the HTML page escaped, also as a dict key,
and odd orders of events (shuffled, missing starts, broken parents) still render and export."""

from __future__ import annotations

import random
import types
import typing
from typing import Any

import pytest

from dispatcher.trace import events as ev
from dispatcher.trace._html import render_html
from dispatcher.trace.events import EventBase

HOSTILE = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"
_KINDS = typing.get_args(typing.get_args(ev.Event)[0])


def _value(annotation: Any, name: str) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is str or annotation is Any:
        return f"{HOSTILE}{name}"
    if annotation is bool:
        return False
    if annotation in (int, float):
        return 3
    if origin is typing.Literal:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        return _value(next(a for a in args if a is not type(None)), name)
    if origin is typing.Annotated:
        return _value(args[0], name)
    if origin is list:
        return [_value(args[0], name)]
    if origin is dict:
        return {HOSTILE: HOSTILE, "nested": {HOSTILE: [HOSTILE]}}
    raise AssertionError(f"no hostile value for {annotation!r} ({name})")


def _hostile_events() -> list[EventBase]:
    made: list[EventBase] = []
    for i, kind in enumerate(_KINDS):
        fields = {n: _value(f.annotation, n) for n, f in kind.model_fields.items() if n != "kind"}
        fields.update(
            run_id="r1",
            ts="2026-12-06T10:00:00+00:00",
            span_id=f"s{i}",
            parent_id=None if i == 0 else "s0",
        )
        made.append(kind(**fields))
    return made


def test_every_event_kind_is_covered() -> None:
    assert len(_KINDS) >= 14


def test_no_text_field_of_any_event_reaches_the_page_unescaped() -> None:
    page = render_html(_hostile_events())  # type: ignore[arg-type]
    assert "<img" not in page and "<script>alert" not in page
    assert page.count("&lt;img src=x") >= len(_KINDS)


@pytest.mark.parametrize("seed", range(20))
def test_shuffled_partial_event_lists_render_and_export(seed: int) -> None:
    from dispatcher.telemetry._otlp_json import export_otlp_json  # the otel extra (in dev)

    rng = random.Random(seed)
    sample = [e for e in _hostile_events() if rng.random() < 0.7]
    rng.shuffle(sample)
    parents = [None, "s0", "s3", "nowhere"]
    sample = [e.model_copy(update={"parent_id": rng.choice([*parents, e.span_id])}) for e in sample]
    page = render_html(sample)  # type: ignore[arg-type]
    assert "<script>alert" not in page
    export_otlp_json(sample, capture_content=True)  # type: ignore[arg-type]
