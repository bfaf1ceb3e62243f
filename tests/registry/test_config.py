"""Registry files: LiteLLM's model_list plus our section, with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.errors import ConfigError
from dispatcher.messages import Usage
from dispatcher.registry.config import load_registry_config
from dispatcher.registry.profiles import cost_usd
from dispatcher.registry.registry import Registry

GOOD = """
model_list:
  - model_name: small
    litellm_params: {model: openai/qwen2.5-coder-7b, api_base: "http://127.0.0.1:8000/v1"}
  - model_name: strong
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: os.environ/ANTHROPIC_API_KEY}
dispatcher:
  tiers: {weak: small, strong: strong}
  prices: {small: {input: 0.0, output: 0.0}, strong: {input: 3.0, output: 15.0}}
  models: {strong: {context_window: 200000, capabilities: [tools, vision]}}
  overwatch: strong
  budgets: {usd: 0.50, turns: 40}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dispatcher.yaml"
    path.write_text(text)
    return path


def test_loads_profiles_tiers_prices_and_budgets(tmp_path: Path) -> None:
    config = load_registry_config(_write(tmp_path, GOOD))
    strong = config.profiles["strong"]
    assert strong.tier == "strong" and strong.context_window == 200000
    assert strong.price is not None and strong.price.output == 15.0
    assert strong.api_key_env == "ANTHROPIC_API_KEY"
    assert config.profiles["small"].api_base == "http://127.0.0.1:8000/v1"
    assert config.settings.budgets.usd == 0.5


def test_keys_are_never_in_a_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value-123456")
    config = load_registry_config(_write(tmp_path, GOOD))
    profile = config.profiles["strong"]
    assert profile.api_key() == "sk-ant-secret-value-123456"
    assert "secret-value" not in repr(profile)
    assert "os.environ/ANTHROPIC_API_KEY" in repr(profile)


def test_a_literal_key_is_rejected_without_echoing_it(tmp_path: Path) -> None:
    text = GOOD.replace("os.environ/ANTHROPIC_API_KEY", "sk-ant-literal-key-0000000")
    with pytest.raises(ConfigError) as info:
        load_registry_config(_write(tmp_path, text))
    message = str(info.value)
    assert "literal-key" not in message
    assert "dispatcher.yaml" in message and "model_list[1] (strong)" in message
    assert "litellm_params.api_key" in message and "os.environ/" in message


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ("overwatch: strong", "overwatch: strongest", ["dispatcher.overwatch", "unknown model"]),
        ("{input: 3.0, output: 15.0}", "{input: 3.0}", ["dispatcher.prices.strong", "output"]),
        ("budgets: {usd: 0.50", "budgets: {dollars: 0.50", ["budgets.dollars", "spelling"]),
        ("litellm_params: {model: openai", "litellm_params: {modle: openai", ["model_list[0]"]),
    ],
)
def test_bad_files_name_the_file_entry_field_and_fix(
    tmp_path: Path, old: str, new: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        load_registry_config(_write(tmp_path, GOOD.replace(old, new, 1)))
    message = str(info.value)
    assert "dispatcher.yaml" in message and "fix:" in message
    for fragment in fragments:
        assert fragment in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line"):
        load_registry_config(_write(tmp_path, "model_list: [\n  - {model_name: x\n"))


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_registry_config(tmp_path / "nope.yaml")


def test_unpriced_is_never_free() -> None:
    assert cost_usd(None, Usage(1000, 1000)) is None


def test_registry_resolves_tiers_and_the_strong_model(tmp_path: Path) -> None:
    registry = Registry.from_file(_write(tmp_path, GOOD), plugins=False)
    assert registry.tier_profile("weak").name == "small"
    assert registry.strong_profile().name == "strong"
    with pytest.raises(ConfigError, match="unknown model"):
        registry.profile("nope")


def test_a_tool_named_like_the_workers_escalate_tool_is_refused() -> None:
    # Before: the worker was offered two tools named `escalate` (providers refuse duplicate
    # tool names), and calls to the user's tool went to the escalation instead.
    from dispatcher import Agent, tool
    from dispatcher.escalation.request import ESCALATE_TOOL_NAME

    @tool
    def escalate(reason: str) -> str:
        """Page a human."""
        return "paged"

    assert escalate.wire_name == ESCALATE_TOOL_NAME
    registry = Registry()
    pager = Agent(name="pager", description="Pages people.", tools=[escalate])
    with pytest.raises(ConfigError, match="'escalate' is reserved") as raised:
        registry.tools_for(pager)
    assert "rename" in (raised.value.fix or "")


def test_one_model_serving_both_tiers_is_labelled_with_the_tier_asked_for(tmp_path: Path) -> None:
    """With a single model for both tiers (common with one local model), a weak worker's
    model is still the weak tier in its events and the gateway's route header, not whichever
    tier the file listed last."""
    text = (
        "model_list:\n"
        "  - model_name: brain\n"
        "    litellm_params: {model: openai/brain, api_base: 'http://127.0.0.1:9/v1'}\n"
        "dispatcher:\n"
        "  tiers: {weak: brain, strong: brain}\n"
    )
    registry = Registry.from_file(_write(tmp_path, text), plugins=False)
    assert registry.tier_profile("weak").tier == "weak"
    assert registry.tier_profile("strong").tier == "strong"
    assert registry.strong_profile().tier == "strong"
    assert registry.tier_profile("weak").name == registry.tier_profile("strong").name == "brain"
