import pytest
from textstats import mean, median


def test_mean() -> None:
    assert mean([1, 2, 3, 4]) == 2.5


def test_median_odd_length() -> None:
    assert median([3, 1, 2]) == 2


def test_median_even_length() -> None:
    assert median([4, 1, 3, 2]) == 2.5


def test_median_single_value() -> None:
    assert median([7]) == 7


def test_empty_input_raises() -> None:
    with pytest.raises(ValueError):
        median([])
