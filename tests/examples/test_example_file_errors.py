"""example.yaml fields of the wrong type are ConfigErrors naming the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dispatcher.errors import ConfigError
from dispatcher.examples import load_example

EXAMPLE = Path(__file__).parents[2] / "examples" / "sql_report"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("config: 5", "config"),
        ("cassette: [1]", "cassette"),
        ("workspace: 5", "workspace"),
        ("plugins: tools.py", "plugins"),
        ("plugins: [5]", "plugins"),
        ("expect: 5", "expect"),
        ("description: [1]", "description"),
    ],
)
def test_a_field_of_the_wrong_type(tmp_path: Path, extra: str, field: str) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    (example / "example.yaml").write_text(f"task: hello\n{extra}\n")
    with pytest.raises(ConfigError, match=f"field '{field}'.*\n  fix:"):
        load_example(example)


@pytest.mark.parametrize(
    ("expect", "words"),
    [
        # A typo made the examples' test check nothing, silently.
        ("{answer_contain: [Rock]}", "did you mean 'answer_contains'"),
        ("{answer_contains: Rock}", "list"),
        ("{status: ok}", "answer_contains"),  # what the old fix suggested: read by nothing
    ],
)
def test_expect_keys_are_checked(tmp_path: Path, expect: str, words: str) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    (example / "example.yaml").write_text(f"task: hello\nexpect: {expect}\n")
    with pytest.raises(ConfigError, match="field 'expect") as caught:
        load_example(example)
    assert words in str(caught.value)
    assert "status: ok" not in (caught.value.fix or "")
