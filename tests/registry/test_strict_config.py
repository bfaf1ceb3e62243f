"""Config is strict: every section is validated at load, every message names the file, the
field and a fix (did-you-mean for typos), no pydantic text or traceback reaches a user, and a
missing `os.environ/NAME` never falls back to another variable's key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher.agent import Agent
from dispatcher.errors import ConfigError
from dispatcher.registry.agent_files import load_agent_file
from dispatcher.registry.config import load_registry_config
from dispatcher.registry.registry import Registry

BASE = """
model_list:
  - model_name: small
    litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/DISPATCHER_TEST_SMALL_KEY}
  - model_name: strong
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: os.environ/DISPATCHER_TEST_KEY}
dispatcher:
  tiers: {weak: small, strong: strong}
  overwatch: strong
"""


def _write(tmp_path: Path, text: str, name: str = "dispatcher.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        Registry.from_file(_write(tmp_path, text)).check()
    error = raised.value
    message = str(error)
    assert str(tmp_path / "dispatcher.yaml") in message
    assert error.fix, message
    for pydantic_noise in ("pydantic", "errors.pydantic.dev", "For further information"):
        assert pydantic_noise not in message
    return error


@pytest.mark.parametrize(
    ("section", "typo", "meant"),
    [
        ("dispatcher:\n  tirs: {weak: small}", "tirs", "tiers"),
        ("dispatcher:\n  budgets: {turn: 3}", "turn", "turns"),
        ("dispatcher:\n  escalation: {quta: 2}", "quta", "quota"),
        ("dispatcher:\n  escalation: {nudge: 2}", "nudge", "nudges"),
        ("dispatcher:\n  detectors: {loop: {repeat: 3}}", "repeat", "repeats"),
        ("dispatcher:\n  models: {strong: {context_windw: 10}}", "context_windw", "context_window"),
        ("dispatcher:\n  prices: {small: {inptu: 1, output: 2}}", "inptu", "input"),
        ("modl_list: []", "modl_list", "model_list"),
    ],
)
def test_a_typo_gets_a_did_you_mean_naming_file_and_field(
    tmp_path: Path, section: str, typo: str, meant: str
) -> None:
    text = BASE + "\n" + section if section.startswith("modl") else _merge(BASE, section)
    error = _error(tmp_path, text)
    assert typo in str(error)
    assert f"did you mean {meant!r}" in (error.fix or "")


def _merge(base: str, section: str) -> str:
    """Add `section` (under dispatcher:) to the base file."""
    body = section.split("\n", 1)[1]
    return base + body + "\n"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("  budgets: {turns: 0}", "turns"),
        ("  budgets: {usd: -1}", "usd"),
        ("  escalation: {quota: -1}", "quota"),
        ("  escalation: {max_depth: 0}", "max_depth"),
        ("  escalation: {mode: sometimes}", "mode"),
        ("  detectors: {stall: {patience: 0}}", "patience"),
        ("  fallback_cooldown_s: -5", "fallback_cooldown_s"),
        # NaN/inf rewards would poison a bandit's state at the first gated run.
        ("  feedback: {from_gates: true, passed: .nan}", "passed"),
        ("  feedback: {from_gates: true, failed: .inf}", "failed"),
        ("  models: {small: {context_window: true}}", "context_window"),
    ],
)
def test_bad_values_are_refused_at_load(tmp_path: Path, section: str, field: str) -> None:
    error = _error(tmp_path, BASE + section + "\n")
    assert field in (error.field or "")


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ("  default_route: codr", "codr"),
        ("  dispatcher_model: smal", "smal"),
        ("  fallbacks: {strong: [stronger]}", "stronger"),
        ("  toolkits: {workspce: {root: .}}", "workspce"),
    ],
)
def test_unknown_models_routes_and_toolkits_are_named(
    tmp_path: Path, section: str, name: str
) -> None:
    error = _error(tmp_path, BASE + section + "\n")
    assert name in str(error)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ("timeout: -3", "timeout"),
        ("num_retries: -1", "num_retries"),
        ("strem: true", "strem"),
        # Accepted at load, then a bare ValueError at the first request:
        ("timeout: .nan", "timeout"),
        ("stream_timeout: .nan", "stream_timeout"),
        ("extra_headers: 'Bearer x'", "extra_headers"),
        ("extra_headers: {X-Team: 5}", "extra_headers"),
    ],
)
def test_litellm_params_are_checked_at_load(tmp_path: Path, params: str, field: str) -> None:
    text = BASE.replace("model: openai/gpt-4o-mini,", f"model: openai/gpt-4o-mini, {params},", 1)
    error = _error(tmp_path, text)
    assert field in str(error)
    assert "model_list[0]" in str(error)


def test_an_unknown_litellm_param_gets_a_did_you_mean(tmp_path: Path) -> None:
    text = BASE.replace("model: openai/gpt-4o-mini,", "model: openai/gpt-4o-mini, strem: true,")
    error = _error(tmp_path, text)
    assert "did you mean 'stream'" in (error.fix or "")


def test_a_missing_key_variable_is_named_and_never_replaced_by_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCHER_TEST_SMALL_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-another-projects-key-0000000000")
    registry = Registry.from_file(_write(tmp_path, BASE))
    with pytest.raises(ConfigError) as raised:
        registry.model("small")
    message = str(raised.value)
    assert "DISPATCHER_TEST_SMALL_KEY" in message
    assert str(tmp_path / "dispatcher.yaml") in message
    assert "pass api_key" not in message
    assert "another-projects" not in message


def test_the_missing_key_fix_never_says_pass_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from dispatcher.models import OpenAIModel

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError) as raised:
        OpenAIModel("gpt-4o-mini")._get_client()
    assert "OPENAI_API_KEY" in str(raised.value)
    assert "pass api_key" not in str(raised.value)


def test_agent_file_typos_get_a_did_you_mean(tmp_path: Path) -> None:
    agent = tmp_path / "a.md"
    agent.write_text("---\nname: a\ndescription: d\ntols: [x]\n---\nhi\n")
    with pytest.raises(ConfigError) as raised:
        load_agent_file(agent)
    assert "did you mean 'tools'" in (raised.value.fix or "")
    assert str(agent) in str(raised.value)


def test_agent_file_sections_are_validated(tmp_path: Path) -> None:
    agent = tmp_path / "a.yaml"
    agent.write_text("name: a\ndescription: d\nescalation: {quta: 1}\n")
    with pytest.raises(ConfigError) as raised:
        load_agent_file(agent)
    assert "did you mean 'quota'" in (raised.value.fix or "")
    assert str(agent) in str(raised.value)
    agent.write_text("name: a\ndescription: d\ndetectors: {loop: {repeats: 0}}\n")
    with pytest.raises(ConfigError) as raised:
        load_agent_file(agent)
    assert "repeats" in str(raised.value) and str(agent) in str(raised.value)


def test_fields_added_to_the_models_are_accepted_without_a_hand_list() -> None:
    # The agent-file check reads Agent's own fields: nothing to keep in sync by hand.
    from dispatcher.registry.agent_files import allowed_agent_fields

    assert {"name", "description", "detectors", "escalation"} <= allowed_agent_fields()
    assert "source" not in allowed_agent_fields()
    assert set(allowed_agent_fields()) <= {f for f in Agent.__dataclass_fields__} | {"instructions"}


def test_invalid_yaml_names_the_file_the_line_and_a_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, "model_list:\n  - model_name: [unclosed\n")
    with pytest.raises(ConfigError) as raised:
        load_registry_config(path)
    message = str(raised.value)
    assert str(path) in message and "line" in message
    assert "<unicode string>" not in message
    assert raised.value.fix


def test_a_missing_agent_file_is_a_clear_cli_error_not_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "  agents: [agents/missing.md]\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dispatcher"), "agents", "ls", "-c", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert done.returncode == 2 and "error:" in output and "fix:" in output


def test_a_missing_plugin_file_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    from dispatcher.examples import load_example

    _write(tmp_path, BASE)
    (tmp_path / "example.yaml").write_text("task: hi\nplugins: [missing_tools.py]\n")
    (tmp_path / "cassette.yaml").write_text("[]\n")
    with pytest.raises(ConfigError) as raised:
        load_example(tmp_path).build_registry()
    assert "missing_tools.py" in str(raised.value) and raised.value.fix


def test_invalid_example_yaml_names_the_file_and_a_fix(tmp_path: Path) -> None:
    from dispatcher.examples import load_example

    (tmp_path / "example.yaml").write_text("task: [unclosed\n")
    with pytest.raises(ConfigError) as raised:
        load_example(tmp_path)
    assert str(tmp_path / "example.yaml") in str(raised.value) and raised.value.fix


def test_an_example_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    from dispatcher.examples import load_example

    (tmp_path / "example.yaml").write_text("task: first task\ntask: second task\n")
    with pytest.raises(ConfigError, match="'task' is given twice") as raised:
        load_example(tmp_path)
    assert str(tmp_path / "example.yaml") in str(raised.value)


def test_router_and_toolkit_option_typos_get_a_did_you_mean(tmp_path: Path) -> None:
    error = _error(tmp_path, BASE + "  router: {type: randm}\n")
    assert "did you mean 'random'" in (error.fix or "")
    error = _error(tmp_path, BASE + "  router: {type: random, strong: strong, wek: small}\n")
    assert "did you mean 'weak'" in (error.fix or "")
    (tmp_path / "ws").mkdir()
    agent = tmp_path / "fixer.md"
    agent.write_text("---\nname: fixer\ndescription: d\ntools: [workspace.*]\n---\nhi\n")
    text = BASE + "  agents: [fixer.md]\n  toolkits: {workspace: {root: ws, comand_timeout_s: 5}}\n"
    error = _error(tmp_path, text)
    assert "did you mean 'command_timeout_s'" in (error.fix or "")


@pytest.mark.parametrize(
    ("budgets", "expected"),
    [("{turns: -1}", "turns"), ("{usd: 0}", "usd"), ("{turn: 3}", "did you mean 'turns'")],
)
def test_agent_budgets_are_validated(tmp_path: Path, budgets: str, expected: str) -> None:
    agent = tmp_path / "a.yaml"
    agent.write_text(f"name: a\ndescription: d\nbudgets: {budgets}\n")
    with pytest.raises(ConfigError) as raised:
        load_agent_file(agent)
    assert expected in str(raised.value) and str(agent) in str(raised.value)


def test_router_routes_must_name_agents(tmp_path: Path) -> None:
    agent = tmp_path / "clerk.md"
    agent.write_text("---\nname: clerk\ndescription: d\n---\nhi\n")
    text = BASE + "  agents: [clerk.md]\n  router: {type: semantic, routes: {clerck: [hello]}}\n"
    error = _error(tmp_path, text)
    assert "clerck" in str(error) and "did you mean 'clerk'" in (error.fix or "")


@pytest.mark.parametrize(
    "section",
    [
        "  gateway: {api_keys: sk-live-0123456789abcdef}",  # a key where a list belongs
        "  gateway: {api_keys: [sk-live-0123456789abcdef]}",
    ],
)
def test_a_key_pasted_into_the_file_is_never_echoed(tmp_path: Path, section: str) -> None:
    error = _error(tmp_path, BASE + section + "\n")
    assert "0123456789abcdef" not in str(error)
    assert "api_keys" in (error.field or "")


def test_a_number_pasted_as_api_key_is_never_echoed(tmp_path: Path) -> None:
    text = BASE.replace("os.environ/DISPATCHER_TEST_KEY", "98765432109876543210", 1)
    error = _error(tmp_path, text)
    assert "98765432109876543210" not in str(error)


@pytest.mark.parametrize(
    ("info", "field"),
    [
        ("{input_cost_per_token: -1}", "input_cost_per_token"),
        ("{input_cost_per_token: .nan}", "input_cost_per_token"),
        ("{output_cost_per_token: -1e-6}", "output_cost_per_token"),
        ("{max_input_tokens: 0}", "max_input_tokens"),
        ("{max_output_tokens: -5}", "max_output_tokens"),
    ],
)
def test_model_info_values_are_checked_and_named_in_the_file(
    tmp_path: Path, info: str, field: str
) -> None:
    # A negative price was a ConfigError with no file or entry and a Python fix
    # ("Price(input=...)"); a context window of 0 was taken as is.
    text = BASE.replace(
        "api_key: os.environ/DISPATCHER_TEST_SMALL_KEY}",
        f"api_key: os.environ/DISPATCHER_TEST_SMALL_KEY}}\n    model_info: {info}",
        1,
    )
    error = _error(tmp_path, text)
    assert "model_list[0]" in str(error) and field in (error.field or "")
    assert "Price(" not in (error.fix or "")


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    # PyYAML keeps the last silently: the first `overwatch` (or a whole `budgets:` block)
    # was dropped without a word.
    error = _error(tmp_path, BASE + "  budgets: {usd: 1.0}\n  overwatch: small\n")
    assert "'overwatch' is given twice" in str(error)
    assert "line 9" in str(error) and "line 11" in str(error)
    assert "keep one" in (error.fix or "")


def test_yaml_merge_keys_still_override(tmp_path: Path) -> None:
    text = BASE.replace(
        "dispatcher:\n",
        "litellm_settings: {base: &base {weak: small, strong: small}}\ndispatcher:\n",
        1,
    ).replace("  tiers: {weak: small, strong: strong}", "  tiers: {<<: *base, strong: strong}")
    config = load_registry_config(_write(tmp_path, text))
    assert config.settings.tiers == {"weak": "small", "strong": "strong"}


def test_an_agent_file_with_a_field_given_twice_is_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "---\nname: clerk\ndescription: Files things.\ntier: weak\ntier: strong\n---\nBody.\n",
        "clerk.md",
    )
    with pytest.raises(ConfigError, match="'tier' is given twice") as raised:
        load_agent_file(path)
    assert str(path) in str(raised.value)


def test_a_tab_in_the_file_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'\\\\t'") as raised:
        load_registry_config(_write(tmp_path, "model_list:\n\t- model_name: x\n"))
    assert "line 2" in str(raised.value)


def test_a_detector_config_file_reads_like_the_registry_file(tmp_path: Path) -> None:
    # Its YAML errors quoted PyYAML's '<unicode string>' marks and had no fix; a key given
    # twice kept the last.
    from dispatcher.detectors._config_file import read_detector_settings

    broken = _write(tmp_path, "dispatcher:\n  detectors: {loop: [unclosed\n", "broken.yaml")
    with pytest.raises(ConfigError) as raised:
        read_detector_settings(broken)
    assert "<unicode string>" not in str(raised.value) and raised.value.fix
    twice = _write(
        tmp_path,
        "dispatcher:\n  detectors: {loop: {repeats: 3}}\n  detectors: {loop: {repeats: 9}}\n",
        "twice.yaml",
    )
    with pytest.raises(ConfigError, match="'detectors' is given twice"):
        read_detector_settings(twice)


def test_a_validator_message_is_kept_as_written_in_the_fix(tmp_path: Path) -> None:
    # A literal client key: the fix said "(value error, each api_keys entry must be
    # os.environ/name ...)": pydantic's prefix, and NAME lowercased into a wrong instruction.
    error = _error(tmp_path, BASE + "  gateway: {api_keys: [sk-literal-client-key]}\n")
    fix = error.fix or ""
    assert "os.environ/NAME" in fix, fix
    assert "value error" not in fix.lower() and "Value error" not in str(error)
    assert "sk-literal-client-key" not in str(error)


def test_an_empty_registry_file_says_it_has_no_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An empty file said "entry 'dispatcher.tiers': no model has tier 'strong'", naming
    # neither the file nor what is missing.
    from cli_runner import run_cli

    config = _write(tmp_path, "\n")
    result = run_cli(["ask", "hello", "-c", str(config)], capsys)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert str(config) in result.stderr and "model_list" in result.stderr, result.stderr
    # A file with models but no tier for the strong one names the file too.
    config = _write(tmp_path, BASE.replace("tiers: {weak: small, strong: strong}", "tiers: {}"))
    with pytest.raises(ConfigError) as raised:
        Registry.from_file(config).tier_profile("weak")
    assert str(config) in str(raised.value)
