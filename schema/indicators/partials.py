"""Mergeable partial results: what a force (or a month) contributes to an indicator.

The standard demands that every per-force result merges into a national or group value
*exactly*. Counts and ratios are easy (add counts; add numerators and denominators, then
divide). Medians are not: the median of medians is not the median. So a DAYS partial carries
the exact distribution of its day counts as a histogram of ``(days, frequency)`` pairs.
Day counts are small integers (a few thousand distinct values at most), so the histogram is
small however many records it summarises, and two histograms merge by adding frequencies.
The median is then read off the merged histogram by walking cumulative frequencies, without
expanding it back into a list of values.

One ``Partial`` shape serves all three units so that the gateway can merge and cache them
without knowing the unit; the unit is needed only to turn a partial into a value.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter, lt

from schema.errors import PartialError
from schema.indicators.catalogue import Unit

Histogram = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Partial:
    """A mergeable partial result.

    ``numerator``: COUNT the count; RATIO the numerator; DAYS the number of values.
    ``denominator``: RATIO only, else 0.
    ``histogram``: DAYS only: ``(days, frequency)`` pairs sorted by days, every frequency
    positive, frequencies summing to ``numerator``. Days may be negative (a data error
    upstream is still counted, not hidden).
    """

    numerator: int
    denominator: int = 0
    histogram: Histogram = ()
    # The median, worked out once here: a response reads it for every DAYS cell, and a
    # partial is immutable. Not part of equality: it follows from the histogram.
    median: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.numerator < 0 or self.denominator < 0:
            raise PartialError(f"a partial counts things, so it cannot be negative: {self}")
        median = None
        if self.histogram:
            days = list(map(itemgetter(0), self.histogram))  # C-level passes: histograms
            frequencies = list(map(itemgetter(1), self.histogram))  # can be long
            if not all(map(lt, days, days[1:])):
                raise PartialError("histogram days must be strictly increasing")
            if min(frequencies) <= 0:
                raise PartialError("histogram frequencies must be positive")
            cumulative = list(accumulate(frequencies))
            if cumulative[-1] != self.numerator:
                raise PartialError("a DAYS partial's numerator must be its number of values")
            median = _median(days, cumulative)
        object.__setattr__(self, "median", median)

    @classmethod
    def count(cls, n: int) -> Partial:
        return cls(n)

    @classmethod
    def ratio(cls, numerator: int, denominator: int) -> Partial:
        return cls(numerator, denominator)

    @classmethod
    def days(cls, values: Iterable[int]) -> Partial:
        """A DAYS partial from individual day counts (for tests and small inputs)."""
        return cls.from_frequencies(Counter(values))

    @classmethod
    def from_frequencies(cls, frequencies: Mapping[int, int]) -> Partial:
        """A DAYS partial from ``{days: frequency}``; zero frequencies are dropped."""
        histogram = tuple(sorted((d, f) for d, f in frequencies.items() if f))
        return cls(sum(f for _, f in histogram), 0, histogram)


EMPTY = Partial(0)


def merge(partials: Iterable[Partial]) -> Partial:
    """The partial of the union: counts, numerators, denominators and histograms add."""
    numerator = denominator = 0
    frequencies: Counter[int] = Counter()
    for partial in partials:
        numerator += partial.numerator
        denominator += partial.denominator
        for days, frequency in partial.histogram:
            frequencies[days] += frequency
    if not frequencies:
        return Partial(numerator, denominator)
    if numerator != frequencies.total():
        raise PartialError("cannot merge DAYS partials with partials of another unit")
    return Partial(numerator, denominator, tuple(sorted(frequencies.items())))


def median_of_histogram(histogram: Histogram) -> float | None:
    """The exact median of the values a histogram describes; None when it is empty.

    For an even count it is the mean of the two middle values, as the standard says. The
    middle ranks are found by bisecting the cumulative frequencies, never by expanding the
    histogram into values.
    """
    if not histogram:
        return None
    return _median(
        list(map(itemgetter(0), histogram)), list(accumulate(map(itemgetter(1), histogram)))
    )


def _median(days: list[int], cumulative: list[int]) -> float:
    n = cumulative[-1]
    low = days[bisect_right(cumulative, (n - 1) // 2)]  # 0-based ranks of the middle values
    high = days[bisect_right(cumulative, n // 2)]
    return (low + high) / 2


def value(unit: Unit, partial: Partial) -> int | float | None:
    """The indicator value: a count, a ratio (None when the denominator is 0), a median."""
    if unit is Unit.COUNT:
        return partial.numerator
    if unit is Unit.RATIO:
        if partial.denominator == 0:
            return None
        return partial.numerator / partial.denominator
    if partial.numerator and not partial.histogram:
        raise PartialError("a DAYS partial needs its histogram")
    return partial.median


def underlying_count(unit: Unit, partial: Partial) -> int:
    """The number of records a value rests on, which disclosure control tests against k.

    COUNT: the count itself; RATIO: the denominator; DAYS: the number of values.
    """
    return partial.denominator if unit is Unit.RATIO else partial.numerator
