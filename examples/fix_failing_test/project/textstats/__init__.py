"""Small statistics helpers for text analytics."""

from textstats.stats import mean, median

__all__ = ["mean", "median"]
