"""Detection metrics in pure Python: ROC AUC, recall at a false-alarm budget, medians.

"Positive" is a failed run (the thing a detector should flag); "negative" a successful one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["auc", "median", "threshold_for_false_alarms"]


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(score of a random failed run > score of a random successful run), ties count half."""
    if not positives or not negatives:
        return math.nan
    labelled = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum = 0.0
    i = 0
    while i < len(labelled):
        j = i
        while j < len(labelled) and labelled[j][0] == labelled[i][0]:
            j += 1
        average_rank = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += average_rank * sum(label for _, label in labelled[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def threshold_for_false_alarms(
    negatives: Sequence[float], max_rate: float, *, conservative: bool = False
) -> float:
    """The lowest threshold t such that at most `max_rate` of negatives have score >= t.

    `conservative` allows one alarm fewer than that, as split-conformal calibration does
    (``floor(rate * (n + 1)) - 1``), so that the rate also holds, on average, on new runs
    rather than only on these. Returns +inf when no finite threshold keeps within budget.
    """
    if not negatives:
        return math.inf
    if conservative:
        allowed = max(0, math.floor(max_rate * (len(negatives) + 1) + 1e-9) - 1)
    else:
        allowed = math.floor(max_rate * len(negatives) + 1e-9)
    ordered = sorted(negatives, reverse=True)
    if allowed >= len(ordered):
        return -math.inf
    # Everything strictly above the (allowed+1)-th highest negative may alarm.
    cutoff = ordered[allowed]
    return math.nextafter(cutoff, math.inf)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
