"""Cheap, domain-free text features of a prompt that hint at how hard it is.

Length, numbers and formulas, negations, multi-part questions, answer options, code-like
text and vocabulary rarity: signals that carry over between datasets, unlike topic words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

__all__ = ["FEATURE_NAMES", "text_features"]

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"(?<![A-Za-z])[-+]?\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")
_MATH = re.compile(r"[=+*/^<>≤≥√π∑∫∞±×÷∂∈∀∃≠≈%]|\\[a-zA-Z]+|\$")
_NEGATION = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "neither",
        "nor",
        "except",
        "least",
        "false",
        "incorrect",
        "untrue",
        "cannot",
        "isn't",
        "aren't",
        "doesn't",
        "don't",
        "wasn't",
        "weren't",
    ]
)
_EMPHASIS = re.compile(r"\b[A-Z]{3,}\b")
_OPTION = re.compile(r"^\s*(?:\(?[A-Ha-h][.)]|\([A-Ha-h]\))\s+(.*)$", re.MULTILINE)
_ROMAN = re.compile(r"\b(?:I|II|III|IV|V|VI)\b(?:\s*(?:,|and|only))")
_PART = re.compile(r"\b(?:statement|scenario|claim|premise|assertion|reason|case)\s*\d\b", re.I)
_CODE = re.compile(r"[{};]|==|!=|->|=>|\bdef\b|\breturn\b|\bfunction\b|\bSELECT\b|\bclass\b")
_QUANT = frozenset(
    [
        "calculate",
        "compute",
        "solve",
        "probability",
        "estimate",
        "percent",
        "ratio",
        "rate",
        "sum",
        "average",
        "expected",
        "value",
        "many",
        "much",
    ]
)
_CAUSAL = frozenset(
    [
        "because",
        "therefore",
        "implies",
        "if",
        "then",
        "unless",
        "whereas",
        "although",
        "hence",
        "thus",
        "valid",
        "follows",
        "conclusion",
        "argument",
    ]
)
_DIGITS = str.maketrans("", "", "0123456789")

FEATURE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "log_lines",
    "mean_word_len",
    "long_word_share",
    "type_token_ratio",
    "digit_share",
    "log_numbers",
    "math_density",
    "log_negations",
    "log_emphasis",
    "log_questions",
    "log_options",
    "log_mean_option_len",
    "option_len_spread",
    "compound_option_share",
    "numeric_option_share",
    "log_roman",
    "log_parts",
    "code_density",
    "log_quant_cues",
    "log_causal_cues",
    "non_ascii_share",
    "log_quotes",
    "log_pipes",
)


def _log(count: float) -> float:
    return math.log1p(count)


def _option_features(options: list[str]) -> tuple[float, float, float, float, float]:
    if not options:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    lengths = [len(o) for o in options]
    mean = sum(lengths) / len(lengths)
    spread = (max(lengths) - min(lengths)) / (mean + 1.0)
    # "True, False" / "Wrong, Not wrong": each option judges several things at once.
    compound = sum(1 for o in options if o.count(",") >= 1 and len(o) < 40) / len(options)
    numeric = sum(1 for o in options if _NUMBER.fullmatch(o.strip().rstrip(".%"))) / len(options)
    return _log(len(options)), _log(mean), spread, compound, numeric


@lru_cache(maxsize=1 << 16)
def _one(text: str) -> tuple[float, ...]:
    # Cached: cross-validation and calibration featurise the same prompts many times.
    chars = len(text)
    words = _WORD.findall(text)
    n_words = len(words)
    alpha = [w for w in words if w.isalpha()]
    lowered = [w.lower() for w in alpha]
    options = [m.group(1) for m in _OPTION.finditer(text)]
    denominator = chars + 1.0
    return (
        _log(chars),
        _log(n_words),
        _log(text.count("\n")),
        (sum(len(w) for w in alpha) / len(alpha)) if alpha else 0.0,
        (sum(1 for w in alpha if len(w) >= 9) / len(alpha)) if alpha else 0.0,
        (len(set(lowered)) / len(lowered)) if lowered else 0.0,
        (chars - len(text.translate(_DIGITS))) / denominator,
        _log(len(_NUMBER.findall(text))),
        100.0 * len(_MATH.findall(text)) / denominator,
        _log(sum(1 for w in lowered if w in _NEGATION)),
        _log(len(_EMPHASIS.findall(text))),
        _log(text.count("?")),
        *_option_features(options),
        _log(len(_ROMAN.findall(text))),
        _log(len(_PART.findall(text))),
        100.0 * len(_CODE.findall(text)) / denominator,
        _log(sum(1 for w in lowered if w in _QUANT)),
        _log(sum(1 for w in lowered if w in _CAUSAL)),
        (chars - len(text.encode("ascii", "ignore"))) / denominator,
        _log(text.count('"') + text.count("“") + text.count("”")),
        _log(text.count("|")),
    )


def text_features(texts: Sequence[str]) -> NDArray[np.float64]:
    """One row of `FEATURE_NAMES` values per text (raw scale; standardise before use)."""
    rows = [_one(t) for t in texts]
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(FEATURE_NAMES))
