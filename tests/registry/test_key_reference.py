"""`api_key: os.environ/NAME` must name a variable that can exist; the file is refused when it
loads, and the text after the prefix is never echoed (it may be a pasted key)."""

from __future__ import annotations

import pytest

from dispatcher.errors import ConfigError
from dispatcher.registry.config import parse_registry_config


def _config(api_key: str) -> dict[str, object]:
    return {
        "model_list": [
            {"model_name": "s", "litellm_params": {"model": "openai/x", "api_key": api_key}}
        ],
        "dispatcher": {"tiers": {"weak": "s", "strong": "s"}},
    }


@pytest.mark.parametrize(
    "reference",
    [
        "os.environ/OPENAI_API_KEY ",
        "os.environ/A B",
        "os.environ/1ABC",
        "os.environ/sk-proj-abcdefghijklmnop1234",
        "os.environ/$(id)",
    ],
)
def test_a_reference_that_names_no_variable_is_refused_on_load(reference: str) -> None:
    with pytest.raises(ConfigError, match="fix:") as caught:
        parse_registry_config(_config(reference))
    assert reference.removeprefix("os.environ/").strip() not in str(caught.value)


def test_a_valid_reference_loads() -> None:
    config = parse_registry_config(_config("os.environ/MY_KEY_2"))
    assert config.profiles["s"].api_key_env == "MY_KEY_2"


@pytest.mark.parametrize("price", [float("inf"), float("nan"), -1.0])
def test_prices_are_finite_and_not_negative(price: float) -> None:
    config = _config("os.environ/MY_KEY")
    config["dispatcher"] = {
        "tiers": {"weak": "s", "strong": "s"},
        "prices": {"s": {"input": price, "output": 1.0}},
    }
    with pytest.raises(ConfigError, match="input"):
        parse_registry_config(config)


@pytest.mark.parametrize("price", [float("inf"), -1.0, "free"])
def test_a_price_built_in_code_is_checked_too(price: object) -> None:
    from dispatcher import Price

    with pytest.raises(ConfigError, match="input"):
        Price(input=price, output=1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("variable", ["sk-live-0123456789abcdefXYZ", "MY KEY", ""])
def test_a_profile_built_in_code_with_a_key_where_the_variable_name_belongs_never_echoes_it(
    variable: str,
) -> None:
    # ModelProfile(api_key_env=<the key itself>) was accepted; the missing-key error and the
    # repr then printed the key ("the environment variable sk-live-... is not set").
    from dispatcher import ModelProfile

    with pytest.raises(ConfigError, match="environment variable name") as caught:
        ModelProfile(name="m", provider_model="openai/x", api_key_env=variable)
    assert not variable or variable not in str(caught.value)
