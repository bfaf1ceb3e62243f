"""The error for an unset key variable stays readable: redaction must not eat its words."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher import Agent, ConfigError, Dispatcher
from dispatcher.redaction import redact

_CONFIG = """\
model_list:
  - model_name: small
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/DISPATCHER_TEST_UNSET_KEY}
dispatcher:
  tiers: {weak: small, strong: small}
"""


def test_the_unset_key_error_names_the_variable_unredacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCHER_TEST_UNSET_KEY", raising=False)
    config = tmp_path / "dispatcher.yaml"
    config.write_text(_CONFIG)
    helper = Agent(name="helper", description="Helps.", tier="weak")
    dispatcher = Dispatcher.from_config(config, agents=[helper], runs_dir=tmp_path / "runs")
    with pytest.raises(ConfigError) as caught:
        dispatcher.run_sync("hello")
    message = str(caught.value)
    assert "[REDACTED]" not in message
    assert "environment variable DISPATCHER_TEST_UNSET_KEY is not set" in message
    assert "api_key: os.environ/DISPATCHER_TEST_UNSET_KEY" in message


def test_a_key_reference_is_not_a_secret_but_a_key_still_is() -> None:
    assert redact("api_key: os.environ/OPENAI_API_KEY") == "api_key: os.environ/OPENAI_API_KEY"
    assert "hunter2hunter2" not in redact("api_key: hunter2hunter2")
