"""Mergeable partial results: exact merging of counts, ratios and day histograms."""

from __future__ import annotations

import itertools
import pickle
import statistics
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema.errors import PartialError
from schema.indicators.catalogue import Unit
from schema.indicators.partials import (
    EMPTY,
    Partial,
    combine,
    median_of_histogram,
    merge,
    underlying_count,
    value,
)

day_lists = st.lists(st.integers(min_value=-30, max_value=3000), max_size=40)


def test_counts_add() -> None:
    assert merge([Partial.count(3), Partial.count(4), EMPTY]) == Partial.count(7)
    assert value(Unit.COUNT, merge([Partial.count(3), Partial.count(4)])) == 7


def test_ratios_add_numerators_and_denominators() -> None:
    merged = merge([Partial.ratio(1, 4), Partial.ratio(2, 6)])
    assert merged == Partial.ratio(3, 10)
    assert value(Unit.RATIO, merged) == 0.3


def test_ratio_with_zero_denominator_is_none_not_zero() -> None:
    assert value(Unit.RATIO, Partial.ratio(0, 0)) is None
    assert value(Unit.RATIO, Partial.ratio(0, 5)) == 0.0


def test_median_of_an_odd_count_is_the_middle_value() -> None:
    assert value(Unit.DAYS, Partial.days([30, 2, 7])) == 7


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    assert value(Unit.DAYS, Partial.days([1, 2, 10, 400])) == 6.0
    assert value(Unit.DAYS, Partial.days([4, 5])) == 4.5


def test_median_of_no_values_is_none() -> None:
    assert value(Unit.DAYS, Partial.days([])) is None
    assert median_of_histogram(()) is None


def test_merged_median_is_not_a_median_of_medians() -> None:
    a, b = Partial.days([1, 2, 3]), Partial.days([100, 101, 102, 103, 104])
    # Medians 2 and 102 average to 52; the median of all eight values is 100.5.
    assert value(Unit.DAYS, merge([a, b])) == 100.5


def test_negative_day_counts_are_kept() -> None:
    assert value(Unit.DAYS, Partial.days([-3, -1, 5])) == -1


def test_histogram_is_sorted_with_frequencies() -> None:
    partial = Partial.days([5, 1, 5, 5, 2])
    assert partial.histogram == ((1, 1), (2, 1), (5, 3))
    assert partial.numerator == 5
    assert Partial.from_frequencies({3: 2, 1: 0}) == Partial(2, 0, ((3, 2),))


def test_underlying_count_per_unit() -> None:
    assert underlying_count(Unit.COUNT, Partial.count(8)) == 8
    assert underlying_count(Unit.RATIO, Partial.ratio(3, 40)) == 40
    assert underlying_count(Unit.DAYS, Partial.days([1, 1, 9])) == 3


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((-1,), "negative"),
        ((1, -1), "negative"),
        ((2, 0, ((5, 1), (3, 1))), "increasing"),
        ((2, 0, ((5, 1), (5, 1))), "increasing"),
        ((1, 0, ((5, 1), (6, 0))), "positive"),
        ((3, 0, ((5, 1), (6, 1))), "number of values"),
    ],
)
def test_impossible_partials_are_refused(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(PartialError, match=message):
        Partial(*arguments)


def test_days_cannot_be_merged_with_counts() -> None:
    with pytest.raises(PartialError, match="another unit"):
        merge([Partial.days([1, 2]), Partial.count(5)])


def test_a_days_partial_without_its_histogram_has_no_value() -> None:
    with pytest.raises(PartialError):
        value(Unit.DAYS, Partial.count(4))


@given(st.lists(day_lists, max_size=6))
def test_merged_median_equals_median_of_the_union(groups: list[list[int]]) -> None:
    merged = merge(Partial.days(group) for group in groups)
    union = [day for group in groups for day in group]
    expected = statistics.median(union) if union else None
    assert value(Unit.DAYS, merged) == expected
    assert merged.numerator == len(union)
    assert merged == Partial.days(union)


@given(st.dictionaries(st.integers(-1000, 10**6), st.integers(1, 10**4), max_size=60))
def test_median_of_histogram_without_expanding(frequencies: dict[int, int]) -> None:
    histogram = tuple(sorted(frequencies.items()))
    values = sorted(Counter(frequencies).elements())
    expected = statistics.median(values) if values else None
    assert median_of_histogram(histogram) == expected
    assert Partial.from_frequencies(frequencies).median == expected


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), max_size=8))
def test_merged_ratio_is_total_numerator_over_total_denominator(
    pairs: list[tuple[int, int]],
) -> None:
    merged = merge(Partial.ratio(n, d) for n, d in pairs)
    numerator, denominator = sum(n for n, _ in pairs), sum(d for _, d in pairs)
    assert (merged.numerator, merged.denominator) == (numerator, denominator)
    assert value(Unit.RATIO, merged) == (numerator / denominator if denominator else None)


@given(st.lists(day_lists, min_size=2, max_size=5))
def test_merge_is_associative(groups: list[list[int]]) -> None:
    partials = [Partial.days(group) for group in groups]
    assert merge([merge(partials[:1]), merge(partials[1:])]) == merge(partials)
    assert merge(reversed(partials)) == merge(partials)


# --- totals: k-way medians over the parts' histograms, never merged -----------------------


@given(st.lists(day_lists, max_size=45))
def test_combined_median_is_the_median_of_the_union(groups: list[list[int]]) -> None:
    parts = [Partial.days(group) for group in groups]
    union = [day for group in groups for day in group]
    combined = combine(Unit.DAYS, parts)
    assert combined.numerator == len(union)
    assert value(Unit.DAYS, combined) == (statistics.median(union) if union else None)
    assert combined.median == merge(parts).median


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), max_size=8))
def test_combined_counts_and_ratios_are_merged(pairs: list[tuple[int, int]]) -> None:
    parts = [Partial.ratio(n, d) for n, d in pairs]
    assert combine(Unit.RATIO, parts) == merge(parts)
    assert combine(Unit.COUNT, [Partial.count(n) for n, _ in pairs]) == merge(
        Partial.count(n) for n, _ in pairs
    )


def test_a_summary_has_a_value_but_cannot_be_merged_again() -> None:
    summary = combine(Unit.DAYS, [Partial.days([1, 5]), Partial.days([9])])
    assert summary == Partial.summary(3, 5, 5)
    assert value(Unit.DAYS, summary) == 5
    with pytest.raises(PartialError, match="summary"):
        merge([summary, Partial.days([2])])
    with pytest.raises(PartialError, match="histogram"):
        combine(Unit.DAYS, [summary])


@given(day_lists)
def test_sorted_arrays_and_pickling_give_the_same_partial(days: list[int]) -> None:
    partial = Partial.days(days)
    counts = [f for _, f in partial.histogram]
    cumulative = list(itertools.accumulate(counts))
    assert Partial.from_sorted([d for d, _ in partial.histogram], cumulative) == partial
    assert pickle.loads(pickle.dumps(partial)) == partial
    assert hash(pickle.loads(pickle.dumps(partial))) == hash(partial)


def test_unsorted_arrays_are_refused() -> None:
    with pytest.raises(PartialError, match="increasing"):
        Partial.from_sorted([3, 1], [1, 2])
    with pytest.raises(PartialError, match="positive"):
        Partial.from_sorted([1, 3], [2, 2])


def test_partials_are_immutable() -> None:
    with pytest.raises(AttributeError):
        Partial.count(3).numerator = 4
