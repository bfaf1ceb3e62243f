"""RouteLLM imports that would write nothing useful are DataErrors naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.errors import DataError
from dispatcher.preferences import import_routellm


def test_csvs_without_rows_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "mmlu_a.csv").write_text("")
    (tmp_path / "mmlu_b.csv").write_text("prompt,weak,strong\n")
    with pytest.raises(DataError, match="no records"):
        import_routellm(tmp_path)


@pytest.mark.parametrize("name", ["mmlu_a.csv", "contaminated_prompts.jsonl"])
def test_a_file_that_is_not_utf8_is_named(tmp_path: Path, name: str) -> None:
    (tmp_path / "mmlu_a.csv").write_text("prompt,weak,strong\nq,True,False\n")
    (tmp_path / name).write_bytes(b"\xff\xfe,not text\n")
    with pytest.raises(DataError, match=rf"{name}: .*not UTF-8"):
        import_routellm(tmp_path)


@pytest.mark.parametrize("path", [5, None])
def test_a_path_of_the_wrong_type(path: object) -> None:
    from dispatcher.errors import ConfigError
    from dispatcher.preferences import load_preferences

    for load in (load_preferences, import_routellm):
        with pytest.raises(ConfigError, match="path"):
            load(path)  # type: ignore[operator]
