"""Reporting periods: calendar months, financial quarters and years, rolling years.

Police statistics run on financial years (1 April to 31 March), so a quarter here is a
financial quarter: ``2024/25 Q1`` is April to June 2024 and ``2024/25 Q4`` is January to
March 2025. A rolling year ``YE 2024-06`` is the twelve months ending with June 2024
(1 July 2023 to 30 June 2024).

Every period is a whole number of calendar months. That is what makes indicators cheap and
exact to serve: the gateway computes monthly partial results per force once, and any period
of any granularity is the merge of the months ``months_of(period)`` lists. Internally a month
is its index ``year * 12 + month - 1``, so period arithmetic is integer arithmetic.

Periods are built only by this module (``parse_period``, ``periods_starting_between``,
``period_containing``), so a ``Period``'s label, start and end always agree.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from schema.errors import PeriodError

DEFAULT_MAX_PERIODS: Final = 600


class Granularity(StrEnum):
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    FINANCIAL_YEAR = "FINANCIAL_YEAR"
    ROLLING_YEAR = "ROLLING_YEAR"


@dataclass(frozen=True, slots=True)
class Period:
    """One reporting period; ``start`` and ``end`` are both inclusive."""

    granularity: Granularity
    label: str
    start: dt.date
    end: dt.date

    def __str__(self) -> str:
        return self.label


# (length in months, step between period starts, month index remainder of a start).
# Financial years start in April: month index % 12 == 3. Quarters start in Jan/Apr/Jul/Oct.
_SHAPE: Final[dict[Granularity, tuple[int, int, int]]] = {
    Granularity.MONTH: (1, 1, 0),
    Granularity.QUARTER: (3, 3, 0),
    Granularity.FINANCIAL_YEAR: (12, 12, 3),
    Granularity.ROLLING_YEAR: (12, 1, 0),
}
_FIRST_INDEX: Final = 1 * 12  # January of year 1
_LAST_INDEX: Final = 9999 * 12 + 11  # December 9999
_EXAMPLES: Final[dict[Granularity, str]] = {
    Granularity.MONTH: "'2024-05'",
    Granularity.QUARTER: "'2024/25 Q1' (financial quarter: Q1 is April to June)",
    Granularity.FINANCIAL_YEAR: "'2024/25' (1 April 2024 to 31 March 2025)",
    Granularity.ROLLING_YEAR: "'YE 2024-06' (the twelve months ending June 2024)",
}
_PATTERNS: Final[dict[Granularity, re.Pattern[str]]] = {
    Granularity.MONTH: re.compile(r"([0-9]{4})-([0-9]{2})"),
    Granularity.QUARTER: re.compile(r"([0-9]{4})/([0-9]{2}) Q([1-4])"),
    Granularity.FINANCIAL_YEAR: re.compile(r"([0-9]{4})/([0-9]{2})"),
    Granularity.ROLLING_YEAR: re.compile(r"YE ([0-9]{4})-([0-9]{2})"),
}


def month_end(year: int, month: int) -> dt.date:
    """The last day of a calendar month."""
    if not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise PeriodError(f"no such month: year {year}, month {month}")
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _fy_label(start_year: int) -> str:
    # The second part is the last two digits of the next year: 1999/00, 2009/10, 2024/25.
    return f"{start_year:04d}/{(start_year + 1) % 100:02d}"


def _label(granularity: Granularity, start: int) -> str:
    year, month0 = divmod(start, 12)
    if granularity is Granularity.MONTH:
        return f"{year:04d}-{month0 + 1:02d}"
    if granularity is Granularity.ROLLING_YEAR:
        end_year, end_month0 = divmod(start + 11, 12)
        return f"YE {end_year:04d}-{end_month0 + 1:02d}"
    fy_start = (start - 3) // 12  # the calendar year in which the financial year began
    if granularity is Granularity.FINANCIAL_YEAR:
        return _fy_label(fy_start)
    return f"{_fy_label(fy_start)} Q{(start - 3) % 12 // 3 + 1}"


def _period(granularity: Granularity, start: int) -> Period:
    length, step, remainder = _SHAPE[granularity]
    if start % step != remainder:  # pragma: no cover - callers align starts
        raise AssertionError(f"misaligned {granularity} start index {start}")
    end = start + length - 1
    if start < _FIRST_INDEX or end > _LAST_INDEX:
        raise PeriodError(f"{granularity} periods must lie within the years 0001 to 9999")
    start_year, start_month0 = divmod(start, 12)
    end_year, end_month0 = divmod(end, 12)
    return Period(
        granularity,
        _label(granularity, start),
        dt.date(start_year, start_month0 + 1, 1),
        month_end(end_year, end_month0 + 1),
    )


def parse_period(granularity: Granularity, label: str) -> Period:
    """The period a label names; strict: exactly the form ``Period.label`` produces."""
    match = _PATTERNS[granularity].fullmatch(label)
    if match is None:
        raise PeriodError(
            f"{label!r} is not a {granularity} label; expected {_EXAMPLES[granularity]}"
        )
    year = int(match[1])
    if year == 0:
        raise PeriodError(f"{label!r}: there is no year 0000")
    if granularity in (Granularity.QUARTER, Granularity.FINANCIAL_YEAR):
        if int(match[2]) != (year + 1) % 100:
            raise PeriodError(
                f"{label!r}: a financial year runs into the next calendar year, "
                f"so it must be written {_fy_label(year)!r}"
            )
        quarter = int(match[3]) if granularity is Granularity.QUARTER else 1
        start = year * 12 + 3 + (quarter - 1) * 3
    else:
        month = int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"{label!r}: month must be 01 to 12")
        start = year * 12 + month - 1 - (11 if granularity is Granularity.ROLLING_YEAR else 0)
    try:
        return _period(granularity, start)
    except PeriodError as exc:
        raise PeriodError(f"{label!r}: {exc}") from None


def period_containing(granularity: Granularity, day: dt.date) -> Period:
    """The period holding ``day``; for ROLLING_YEAR, the year ending with ``day``'s month."""
    _, step, remainder = _SHAPE[granularity]
    index = _index(day)
    if granularity is Granularity.ROLLING_YEAR:
        return _period(granularity, index - 11)
    return _period(granularity, index - (index - remainder) % step)


def periods_starting_between(
    granularity: Granularity,
    from_date: dt.date,
    to_date: dt.date,
    *,
    max_periods: int = DEFAULT_MAX_PERIODS,
) -> list[Period]:
    """Every period whose start date falls in ``[from_date, to_date]``, oldest first.

    The range is on start dates for every granularity, rolling years included: the rolling
    years starting in 2023 are ``YE 2023-12`` to ``YE 2024-11``. The cap guards the server
    against a request for centuries of months; it is checked before anything is built.
    """
    if from_date > to_date:
        raise PeriodError(f"the range is reversed: {from_date} is after {to_date}")
    if max_periods < 0:
        raise PeriodError(f"max_periods must not be negative, got {max_periods}")
    _, step, remainder = _SHAPE[granularity]
    first = _index(from_date) + (0 if from_date.day == 1 else 1)
    first += (remainder - first) % step
    last = _index(to_date)
    count = 0 if first > last else (last - first) // step + 1
    if count > max_periods:
        raise PeriodError(
            f"{from_date} to {to_date} holds {count} {granularity} periods; "
            f"at most {max_periods} may be asked for at once"
        )
    return [_period(granularity, start) for start in range(first, last + 1, step)]


def months_of(period: Period) -> tuple[tuple[int, int], ...]:
    """The calendar months ``(year, month)`` a period covers, oldest first."""
    return tuple(
        (index // 12, index % 12 + 1)
        for index in range(_index(period.start), _index(period.end) + 1)
    )
