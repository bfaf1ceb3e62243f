"""Synthetic preference data for router tests (no real data, no model files)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from dispatcher.preferences import PreferenceRecord

HARD_WORDS = [
    "solve",
    "equation",
    "polynomial",
    "root",
    "integral",
    "premise",
    "conclusion",
    "valid",
    "implies",
    "theorem",
]
EASY_WORDS = [
    "capital",
    "river",
    "country",
    "flag",
    "city",
    "famous",
    "empire",
    "war",
    "king",
    "colour",
]


def synthetic_records(n: int, *, seed: int = 0, groups: bool = True) -> list[PreferenceRecord]:
    """Prompts mixing easy and hard words; the more hard words, the more the weak model fails.

    Hardness is continuous per prompt, so router scores spread out as on real data. Groups
    are ``g0``..``g11`` and all look alike.
    """
    rng = random.Random(seed)
    records = []
    for i in range(n):
        hardness = rng.random()
        words = [
            rng.choice(HARD_WORDS if rng.random() < hardness else EASY_WORDS)
            for _ in range(rng.randint(6, 14))
        ]
        records.append(
            PreferenceRecord(
                id=f"q{i}",
                prompt=" ".join(words) + "?",
                scores={
                    "strong": float(rng.random() < 0.97 - 0.15 * hardness),
                    "weak": float(rng.random() < 0.95 - 0.75 * hardness),
                },
                group=f"g{i % 12}" if groups else None,
            )
        )
    return records


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
