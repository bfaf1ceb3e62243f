"""docs/reliability.md names real tests, and every numbered guarantee has at least one."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "reliability.md"
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def test_every_test_named_in_the_doc_exists() -> None:
    references = REFERENCE.findall(DOC.read_text(encoding="utf-8"))
    assert len(references) > 100
    missing = []
    for file, name in references:
        source = (REPO / file).read_text(encoding="utf-8") if (REPO / file).is_file() else ""
        if not re.search(rf"^(async )?def {name}\(", source, re.MULTILINE):
            missing.append(f"{file}::{name}")
    assert not missing, f"named in docs/reliability.md but not found: {missing}"


def test_every_numbered_guarantee_lists_tests() -> None:
    text = DOC.read_text(encoding="utf-8")
    sections = re.split(r"^\*\*(\d+)\. ", text, flags=re.MULTILINE)
    numbers = [int(n) for n in sections[1::2]]
    assert numbers == list(range(1, 22))
    for number, body in zip(numbers, sections[2::2], strict=True):
        assert REFERENCE.search(body), f"guarantee {number} names no test"
    assert REFERENCE.search(text.split("## Determinism", 1)[1])
