"""Synthetic preference data for router tests (no real data, no model files)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from dispatcher.preferences import PreferenceRecord

TOPICS = {
    # topic: (words, weak-model accuracy, strong-model accuracy)
    "trivia": ("capital river country flag city famous", 0.9, 0.95),
    "algebra": ("solve equation integer polynomial root x + y = 7", 0.3, 0.9),
    "logic": ("premise conclusion valid argument implies not", 0.4, 0.85),
    "history": ("empire war treaty century king revolution", 0.8, 0.9),
}


def synthetic_records(n: int, *, seed: int = 0, groups: bool = True) -> list[PreferenceRecord]:
    """Prompts from four topics; the weak model fails mostly on algebra and logic."""
    rng = random.Random(seed)
    records = []
    names = sorted(TOPICS)
    for i in range(n):
        topic = names[i % len(names)]
        words, weak_acc, strong_acc = TOPICS[topic]
        vocab = words.split()
        prompt = " ".join(rng.choice(vocab) for _ in range(rng.randint(5, 12))) + f" item {i}?"
        records.append(
            PreferenceRecord(
                id=f"q{i}",
                prompt=prompt,
                scores={
                    "strong": float(rng.random() < strong_acc),
                    "weak": float(rng.random() < weak_acc),
                },
                group=f"{topic}-{i % 12}" if groups else None,
            )
        )
    return records


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
