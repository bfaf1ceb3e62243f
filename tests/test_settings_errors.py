"""Settings classes (and the escalation request) built in code raise ConfigError, as files do.

`EscalationSettings(mode="nuke")` raised pydantic's ValidationError (pydantic's text and URL,
no fix). Direct construction now gives a ConfigError naming the class, the field and a fix,
while `model_validate` (the path the config loaders take) keeps its ValidationError, so the
errors of a registry or agent file still name the file and the full field path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from dispatcher import EscalationRequest, EscalationSettings
from dispatcher.detectors import CombinedSettings, DetectorSettings, LoopSettings, StallSettings
from dispatcher.errors import ConfigError
from dispatcher.escalation.request import parse_escalation_request
from dispatcher.mcp import MCPServerConfig
from dispatcher.registry.agent_files import load_agent_file
from dispatcher.registry.config import load_registry_config

BAD_CALLS: list[tuple[type[BaseModel], dict[str, Any], str, str]] = [
    (EscalationSettings, {"mode": "nuke"}, "mode", "advise"),
    (EscalationSettings, {"quota": -1}, "quota", "greater than or equal to 0"),
    (EscalationSettings, {"modes": ["advise", "explode"]}, "modes.1", "take_over"),
    (EscalationSettings, {"qouta": 2}, "qouta", "did you mean 'quota'"),
    (EscalationSettings, {"max_depth": "deep"}, "max_depth", "integer"),
    (LoopSettings, {"repeats": 1}, "repeats", "greater than or equal to 2"),
    (StallSettings, {"patience": "soon"}, "patience", "integer"),
    (CombinedSettings, {"weights": {"vibes": 1.0}}, "weights", "unknown feature"),
    (DetectorSettings, {"loop": {"repeat": 3}}, "loop.repeat", "did you mean 'repeats'"),
    (MCPServerConfig, {"name": "files", "timeout_s": 0}, "timeout_s", "greater than 0"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "field", "words"),
    BAD_CALLS,
    ids=[f"{cls.__name__}-{next(iter(kwargs))}" for cls, kwargs, _, _ in BAD_CALLS],
)
def test_a_bad_argument_is_a_config_error(
    cls: type[BaseModel], kwargs: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        cls(**kwargs)
    error = caught.value
    assert error.entry == cls.__name__
    assert error.field == field
    assert error.fix
    assert words in str(error)
    assert "pydantic" not in str(error)  # no pydantic text or errors.pydantic.dev URL


def test_a_positional_argument_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        EscalationSettings("advise")  # type: ignore[misc]
    assert "keyword" in str(caught.value)
    assert caught.value.fix and "mode=" in caught.value.fix


def test_frozen_settings_refuse_assignment_with_a_config_error() -> None:
    settings = EscalationSettings()
    with pytest.raises(ConfigError) as caught:
        settings.quota = 5  # type: ignore[misc]
    assert caught.value.field == "quota"
    assert "model_copy" not in str(caught.value)  # model_copy(update=...) skips validation


def test_a_bad_assignment_to_detector_settings_is_a_config_error() -> None:
    settings = LoopSettings()
    with pytest.raises(ConfigError) as caught:
        settings.repeats = 1
    assert caught.value.field == "repeats"
    assert settings.repeats == 4


def test_good_arguments_still_build_settings() -> None:
    assert EscalationSettings(mode="advise", quota=2).quota == 2
    assert DetectorSettings(loop=LoopSettings(repeats=3)).loop.repeats == 3
    assert MCPServerConfig(name="files", command="python").command == "python"


def test_model_validate_keeps_pydantic_errors_for_the_loaders() -> None:
    # The loaders turn these into errors located in the file (file, entry, full field path).
    with pytest.raises(ValidationError):
        EscalationSettings.model_validate({"mode": "nuke"})


def test_a_registry_file_error_still_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "dispatcher.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: small\n"
        "    litellm_params: {model: openai/gpt-4o-mini}\n"
        "dispatcher:\n"
        "  tiers: {weak: small}\n"
        "  escalation: {mode: nuke}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_registry_config(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "dispatcher.escalation.mode"


def test_an_agent_file_error_still_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "analyst.md"
    path.write_text(
        "---\nname: analyst\ndescription: Answers.\ntier: weak\n"
        "escalation: {mode: nuke}\n---\nBe brief.\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_agent_file(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "escalation.mode"


def test_an_escalation_request_built_in_code_is_checked_the_same_way() -> None:
    with pytest.raises(ConfigError) as caught:
        EscalationRequest(reason="stuck")  # type: ignore[call-arg]
    assert caught.value.entry == "EscalationRequest"
    assert caught.value.field == "question"
    assert caught.value.fix == "pass question=... to EscalationRequest(...)"
    with pytest.raises(ConfigError, match="valid string"):
        EscalationRequest(reason=["stuck"], question="how?")  # type: ignore[arg-type]


def test_the_escalate_tool_still_answers_the_model_with_a_tool_error() -> None:
    # Model output goes through model_validate: a message for the worker, never an exception.
    message = parse_escalation_request({"reason": "stuck"})
    assert isinstance(message, str) and "question" in message


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": "units"}, "exactly one of `command`"),
        ({"name": "units", "url": "ftp://example"}, "http://"),
    ],
)
def test_a_check_across_arguments_names_no_field_called_none(
    kwargs: dict[str, Any], words: str
) -> None:
    # A model-level check has no field: the fix said "give None a value that passes this check".
    with pytest.raises(ConfigError) as caught:
        MCPServerConfig(**kwargs)
    error = caught.value
    assert words in str(error)
    assert error.fix and "None" not in error.fix
    assert "MCPServerConfig(" in error.fix
