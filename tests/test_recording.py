"""A live run's turns recorded to a cassette replay to the same trace."""

from __future__ import annotations

from pathlib import Path

import anyio
from scenario import registry

from dispatcher import Agent, Dispatcher, tool
from dispatcher.cassette import Cassette, load_cassette, save_cassette
from dispatcher.recording import RecordingModel, replay_factory
from dispatcher.testing import reply, tool_calls


@tool
def double(x: int) -> int:
    """Double a number."""
    return 2 * x


MATH = Agent(name="math", description="Does arithmetic.", tools=[double], tier="weak")
TURNS = [
    tool_calls(("math", {"task": "double 21"}), agent="dispatcher"),
    tool_calls(("double", {"x": 21}), agent="math"),
    reply("42", agent="math"),
    reply("It is 42.", agent="dispatcher"),
]


def _normalized(events: list[object]) -> list[dict[str, object]]:
    volatile = {"run_id", "ts", "latency_ms", "duration_ms", "ttft_ms", "provider_model"}
    return [
        {k: v for k, v in e.model_dump().items() if k not in volatile}  # type: ignore[attr-defined]
        for e in events
    ]


def test_record_then_replay_gives_the_same_trace(tmp_path: Path) -> None:
    live, _, _ = registry([MATH], small=TURNS)
    cassette = Cassette()
    models = {name: live.model(name) for name in ("small", "strong")}
    live.use_models({n: RecordingModel(m, n, cassette) for n, m in models.items()})
    first = Dispatcher(live, runs_dir=tmp_path).run_sync("double 21")
    path = tmp_path / "cassette.yaml"
    save_cassette(cassette, path)

    replayed, _, _ = registry([MATH], small=[])
    scripted, factory = replay_factory(load_cassette(path))
    replayed.use_models(factory)
    second = anyio.run(Dispatcher(replayed, runs_dir=tmp_path).run, "double 21")
    for model in scripted.values():
        model.assert_complete()
    assert second.answer == first.answer == "It is 42."
    assert _normalized(second.events) == _normalized(first.events)


def test_a_recorded_cassette_never_holds_a_key_from_the_environment(tmp_path: Path) -> None:
    from dispatcher.redaction import register_secret

    secret = "sk-live-0123456789abcdefSECRET"
    register_secret(secret)

    @tool
    def leaky() -> str:
        """Return the configuration."""
        return f"OPENAI_API_KEY={secret}"

    agent = Agent(name="math", description="Does arithmetic.", tools=[leaky], tier="weak")
    turns = [
        tool_calls(("math", {"task": "show config"}), agent="dispatcher"),
        tool_calls(("leaky", {}), agent="math"),
        reply("done", agent="math"),
        reply("done", agent="dispatcher"),
    ]
    live, _, _ = registry([agent], small=turns)
    cassette = Cassette()
    models = {name: live.model(name) for name in ("small", "strong")}
    live.use_models({n: RecordingModel(m, n, cassette) for n, m in models.items()})
    Dispatcher(live, runs_dir=tmp_path).run_sync("show config")
    path = tmp_path / "cassette.yaml"
    save_cassette(cassette, path)
    text = path.read_text()
    assert "OPENAI_API_KEY=" in text  # the tool result was recorded ...
    assert secret not in text  # ... without the key
