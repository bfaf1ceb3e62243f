"""`calibrate` and `detectors calibrate` print what they write, and keep the user's YAML."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from routing_data import synthetic_records, write_jsonl

from dispatcher.cli.app import main

USER_YAML = """\
# My registry: comments and key order must survive a calibration.
model_list:
  - model_name: weak   # the cheap one
    litellm_params: {model: openai/gpt-4o-mini}
  - model_name: strong
    litellm_params: {model: anthropic/claude-sonnet-4-5}
dispatcher:
  # which model does what
  tiers: {weak: weak, strong: strong}
  overwatch: strong
  router:
    type: predictive  # replaced by calibrate
    threshold: 0.1
  budgets: {usd: 0.5}   # per run
"""


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["dispatcher", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCHER_CACHE_DIR", str(tmp_path / "cache"))


def _calibrate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> Path:
    data = write_jsonl(tmp_path / "prefs.jsonl", [r.to_json() for r in synthetic_records(300)])
    config = tmp_path / "dispatcher.yaml"
    config.write_text(USER_YAML, encoding="utf-8")
    code = _cli(
        [
            "calibrate",
            "--data", str(data),
            "--strong", "strong",
            "--weak", "weak",
            "--config", str(config),
            "--quality-share", "0.9",
            "--folds", "3",
            "--embedder", "hashing:64",
            *extra,
        ],
        monkeypatch,
    )  # fmt: skip
    assert code == 0
    return config


def test_calibrate_prints_the_threshold_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _calibrate(tmp_path, monkeypatch)
    printed = re.search(r"threshold (\d+\.\d+)", capsys.readouterr().out)
    assert printed is not None
    written = yaml.safe_load(config.read_text())["dispatcher"]["router"]["threshold"]
    assert printed.group(1) == f"{written:.4f}"


def test_calibrate_json_threshold_is_the_written_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _calibrate(tmp_path, monkeypatch, "--json")
    result = json.loads(capsys.readouterr().out)
    router = yaml.safe_load(config.read_text())["dispatcher"]["router"]
    assert result["threshold"] == router["threshold"]
    assert "threshold" not in router["calibration"]  # the out-of-fold one has its own name
    assert "out_of_fold_threshold" in router["calibration"]


def test_calibrate_keeps_comments_and_key_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _calibrate(tmp_path, monkeypatch).read_text()
    for comment in ("# My registry", "# the cheap one", "# which model does what", "# per run"):
        assert comment in text
    keys = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("  ")]
    order = [k for k in keys if k in ("tiers", "overwatch", "router", "budgets")]
    assert order == ["tiers", "overwatch", "router", "budgets"]
    assert text.index("model_list") < text.index("dispatcher:")


def test_invalid_yaml_in_the_config_is_named_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dispatcher._yaml_file import edit_yaml_file
    from dispatcher.errors import ConfigError

    config = tmp_path / "dispatcher.yaml"
    config.write_text("dispatcher:\n  tiers: [weak\n")
    with pytest.raises(ConfigError) as caught:
        edit_yaml_file(config, lambda data: None)
    message = str(caught.value)
    assert str(config) in message and "line 3" in message and "fix:" in message
    assert "<unicode string>" not in message
    assert config.read_text() == "dispatcher:\n  tiers: [weak\n"  # left as it was


def test_a_control_character_in_the_config_is_named_without_pyyaml_internals(
    tmp_path: Path,
) -> None:
    from dispatcher._yaml_file import edit_yaml_file
    from dispatcher.errors import ConfigError

    config = tmp_path / "dispatcher.yaml"
    config.write_text("dispatcher:\n  tiers: {weak: small}\x07\n")
    with pytest.raises(ConfigError) as caught:
        edit_yaml_file(config, lambda data: None)
    message = str(caught.value)
    assert "<unicode string>" not in message and "special characters" in message
    assert "character 35" in message and "fix:" in message  # the \x07, counted from 1
