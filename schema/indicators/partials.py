"""Mergeable partial results: what a force (or a month) contributes to an indicator.

The standard demands that every per-force result merges into a national or group value
*exactly*. Counts and ratios are easy (add counts; add numerators and denominators, then
divide). Medians are not: the median of medians is not the median. So a DAYS partial carries
the exact distribution of its day counts as a histogram of ``(days, frequency)`` pairs.
Day counts are small integers (a few thousand distinct values at most), so the histogram is
small however many records it summarises, and two histograms merge by adding frequencies.

The histogram is held compactly, as two machine arrays: the distinct days in increasing
order and the *cumulative* frequencies. The median is read off them by bisecting the
cumulative frequencies, never by expanding values. A value over several partials (a
national median over 43 forces) does not need their merged histogram either: ``combine``
finds the two middle ranks of the union by a k-way selection, a binary search over the day
values that counts, in each part, the values at or below a candidate by one bisection. The
union's middle values lie between the smallest and the largest middle value of the parts,
which bounds the search to a few probes.

One ``Partial`` shape serves all three units so that the gateway can merge and cache them
without knowing the unit; the unit is needed only to turn a partial into a value.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from operator import itemgetter, lt
from typing import Any, Final

from schema.errors import PartialError
from schema.indicators.catalogue import Unit

Histogram = tuple[tuple[int, int], ...]
_NO_DAYS: Final = array("i")
_NO_COUNTS: Final = array("q")


class Partial:
    """A mergeable partial result; immutable and hashable.

    ``numerator``: COUNT the count; RATIO the numerator; DAYS the number of values.
    ``denominator``: RATIO only, else 0.
    ``histogram``: DAYS only: ``(days, frequency)`` pairs sorted by days, every frequency
    positive, frequencies summing to ``numerator``. Days may be negative (a data error
    upstream is still counted, not hidden). Held as ``distinct_days`` (increasing) and
    ``cumulative`` (running totals of the frequencies).
    ``median``, ``low`` and ``high``: a DAYS partial's median and its two middle values
    (equal for an odd count), worked out once; None without values.

    A *summary* (``Partial.summary``) is a DAYS result reduced to its count and middle
    values, as ``combine`` makes for totals: it has a value but cannot be merged again.
    """

    __slots__ = ("cumulative", "denominator", "distinct_days", "high", "low", "median", "numerator")

    numerator: int
    denominator: int
    distinct_days: array[int]
    cumulative: array[int]
    median: float | None
    low: int | None
    high: int | None

    def __init__(
        self, numerator: int, denominator: int = 0, histogram: Iterable[tuple[int, int]] = ()
    ) -> None:
        pairs = histogram if isinstance(histogram, tuple) else tuple(histogram)
        if not pairs:
            self._set(numerator, denominator, _NO_DAYS, _NO_COUNTS)
            return
        days = list(map(itemgetter(0), pairs))  # C-level passes: histograms can be long
        frequencies = list(map(itemgetter(1), pairs))
        if min(frequencies) <= 0:
            raise PartialError("histogram frequencies must be positive")
        self._checked(numerator, denominator, days, list(accumulate(frequencies)))

    @classmethod
    def from_sorted(cls, days: Sequence[int], cumulative: Sequence[int]) -> Partial:
        """A DAYS partial from increasing ``days`` and their cumulative frequencies.

        The fast path for adapters that read histograms already sorted and summed.
        """
        partial = cls.__new__(cls)
        if not days:
            partial._set(0, 0, _NO_DAYS, _NO_COUNTS)
            return partial
        if not all(map(lt, cumulative, cumulative[1:])) or cumulative[0] <= 0:
            raise PartialError("histogram frequencies must be positive")
        partial._checked(cumulative[-1], 0, days, cumulative)
        return partial

    @classmethod
    def summary(cls, numerator: int, low: int | None, high: int | None) -> Partial:
        """A DAYS result with its count and middle values only (see ``combine``)."""
        if (numerator == 0) != (low is None) or (low is None) != (high is None):
            raise PartialError("a summary has middle values exactly when it has values")
        if low is not None and high is not None and low > high:
            raise PartialError("a summary's low middle value cannot exceed its high one")
        partial = cls.__new__(cls)
        partial._set(numerator, 0, _NO_DAYS, _NO_COUNTS)
        if low is not None and high is not None:
            object.__setattr__(partial, "low", low)
            object.__setattr__(partial, "high", high)
            object.__setattr__(partial, "median", (low + high) / 2)
        return partial

    def _checked(
        self, numerator: int, denominator: int, days: Sequence[int], cumulative: Sequence[int]
    ) -> None:
        if not all(map(lt, days, days[1:])):
            raise PartialError("histogram days must be strictly increasing")
        if cumulative[-1] != numerator:
            raise PartialError("a DAYS partial's numerator must be its number of values")
        try:
            self._set(numerator, denominator, array("i", days), array("q", cumulative))
        except OverflowError as exc:
            raise PartialError(f"a day count out of range: {exc}") from None
        low, high = _middle(self.distinct_days, self.cumulative)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "median", (low + high) / 2)

    def _set(
        self, numerator: int, denominator: int, days: array[int], cumulative: array[int]
    ) -> None:
        if numerator < 0 or denominator < 0:
            raise PartialError(
                f"a partial counts things, so it cannot be negative: {numerator}, {denominator}"
            )
        setter = object.__setattr__
        setter(self, "numerator", numerator)
        setter(self, "denominator", denominator)
        setter(self, "distinct_days", days)
        setter(self, "cumulative", cumulative)
        setter(self, "median", None)
        setter(self, "low", None)
        setter(self, "high", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Partial is immutable: cannot set {name}")

    @property
    def histogram(self) -> Histogram:
        """The ``(days, frequency)`` pairs, sorted by days."""
        cumulative = self.cumulative
        if not cumulative:
            return ()
        frequencies = [cumulative[0], *map(int.__sub__, cumulative[1:], cumulative)]
        return tuple(zip(self.distinct_days, frequencies, strict=True))

    @property
    def is_summary(self) -> bool:
        return self.low is not None and not self.distinct_days

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Partial):
            return NotImplemented
        return (
            self.numerator == other.numerator
            and self.denominator == other.denominator
            and self.distinct_days == other.distinct_days
            and self.cumulative == other.cumulative
            and self.low == other.low
            and self.high == other.high
        )

    def __hash__(self) -> int:
        return hash(
            (self.numerator, self.denominator, len(self.distinct_days), self.low, self.high)
        )

    def __repr__(self) -> str:
        if self.is_summary:
            return f"Partial.summary({self.numerator}, {self.low}, {self.high})"
        histogram = f", histogram={self.histogram!r}" if self.distinct_days else ""
        return f"Partial({self.numerator}, {self.denominator}{histogram})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self.is_summary:
            return (Partial.summary, (self.numerator, self.low, self.high))
        return (Partial, (self.numerator, self.denominator, self.histogram))

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


EMPTY: Final = Partial(0)


def merge(partials: Iterable[Partial]) -> Partial:
    """The partial of the union: counts, numerators, denominators and histograms add."""
    numerator = denominator = 0
    frequencies: Counter[int] = Counter()
    for partial in partials:
        if partial.is_summary:
            raise PartialError("a summary has no histogram to merge; merge the parts instead")
        numerator += partial.numerator
        denominator += partial.denominator
        if partial.distinct_days:
            for days, frequency in partial.histogram:
                frequencies[days] += frequency
    if not frequencies:
        return Partial(numerator, denominator)
    if numerator != frequencies.total():
        raise PartialError("cannot merge DAYS partials with partials of another unit")
    return Partial(numerator, denominator, tuple(sorted(frequencies.items())))


def combine(unit: Unit, partials: Sequence[Partial]) -> Partial:
    """What a total needs of the union of ``partials``: ``merge`` for counts and ratios; for
    DAYS a ``Partial.summary`` with the count and the exact middle values of the union,
    found by k-way selection over the parts' histograms without merging them.
    """
    if unit is not Unit.DAYS:
        numerator = denominator = 0
        for partial in partials:
            numerator += partial.numerator
            denominator += partial.denominator
        return Partial(numerator, denominator)
    parts = [p for p in partials if p.numerator]
    if any(p.is_summary or not p.distinct_days for p in parts):
        raise PartialError("combining DAYS needs every part's histogram")
    n = sum(p.numerator for p in parts)
    if n == 0:
        return Partial.summary(0, None, None)
    low, high = _union_middle(parts, n)
    return Partial.summary(n, low, high)


def _middle(days: Sequence[int], cumulative: Sequence[int]) -> tuple[int, int]:
    """The two middle values (0-based ranks (n-1)//2 and n//2) of one histogram."""
    n = cumulative[-1]
    return days[bisect_right(cumulative, (n - 1) // 2)], days[bisect_right(cumulative, n // 2)]


def _count_at_most(parts: Sequence[tuple[array[int], array[int]]], day: int) -> int:
    total = 0
    for days, cumulative in parts:
        i = bisect_right(days, day)
        if i:
            total += cumulative[i - 1]
    return total


def _union_middle(parts: list[Partial], n: int) -> tuple[int, int]:
    """The middle values of the union of ``parts`` (each with values), never expanded.

    Each middle value lies between the smallest low middle and the largest high middle of
    the parts (fewer than half of each part lies below its low middle, so fewer than half
    of the union lies below the smallest; likewise above). A binary search over that range
    finds the smallest day with more than ``rank`` values at or below it.
    """
    if len(parts) == 1:
        only = parts[0]
        assert only.low is not None
        assert only.high is not None
        return only.low, only.high
    arrays = [(p.distinct_days, p.cumulative) for p in parts]
    floor = min(p.low for p in parts if p.low is not None)
    ceiling = max(p.high for p in parts if p.high is not None)
    rank = (n - 1) // 2
    lo, hi = floor, ceiling
    while lo < hi:
        mid = (lo + hi) // 2
        if _count_at_most(arrays, mid) > rank:
            hi = mid
        else:
            lo = mid + 1
    low = lo
    if n % 2 or _count_at_most(arrays, low) > rank + 1:
        return low, low
    # The next distinct value above ``low`` in any part.
    following = [days[i] for days, _ in arrays if (i := bisect_right(days, low)) < len(days)]
    return low, min(following)


def median_of_histogram(histogram: Histogram) -> float | None:
    """The exact median of the values a histogram describes; None when it is empty.

    For an even count it is the mean of the two middle values, as the standard says. The
    middle ranks are found by bisecting the cumulative frequencies, never by expanding the
    histogram into values.
    """
    if not histogram:
        return None
    low, high = _middle(
        list(map(itemgetter(0), histogram)), list(accumulate(map(itemgetter(1), histogram)))
    )
    return (low + high) / 2


def value(unit: Unit, partial: Partial) -> int | float | None:
    """The indicator value: a count, a ratio (None when the denominator is 0), a median."""
    if unit is Unit.COUNT:
        return partial.numerator
    if unit is Unit.RATIO:
        if partial.denominator == 0:
            return None
        return partial.numerator / partial.denominator
    if partial.numerator and partial.median is None:
        raise PartialError("a DAYS partial needs its histogram")
    return partial.median


def underlying_count(unit: Unit, partial: Partial) -> int:
    """The number of records a value rests on, which disclosure control tests against k.

    COUNT: the count itself; RATIO: the denominator; DAYS: the number of values.
    """
    return partial.denominator if unit is Unit.RATIO else partial.numerator
