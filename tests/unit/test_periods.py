"""Reporting periods: exact labels and dates, strict parsing, tiling of the calendar."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema.errors import PeriodError, SchemaError
from schema.periods import (
    DEFAULT_MAX_PERIODS,
    Granularity,
    Period,
    month_end,
    months_of,
    parse_period,
    period_containing,
    periods_starting_between,
)

G = Granularity
dates = st.dates(min_value=dt.date(2, 1, 1), max_value=dt.date(9997, 12, 31))


def test_month_label_and_dates() -> None:
    assert parse_period(G.MONTH, "2024-05") == Period(
        G.MONTH, "2024-05", dt.date(2024, 5, 1), dt.date(2024, 5, 31)
    )


def test_leap_february_ends_on_the_29th() -> None:
    assert parse_period(G.MONTH, "2024-02").end == dt.date(2024, 2, 29)
    assert parse_period(G.MONTH, "2023-02").end == dt.date(2023, 2, 28)


def test_quarter_one_is_april_to_june() -> None:
    assert parse_period(G.QUARTER, "2024/25 Q1") == Period(
        G.QUARTER, "2024/25 Q1", dt.date(2024, 4, 1), dt.date(2024, 6, 30)
    )


def test_quarter_four_is_january_to_march_of_the_next_year() -> None:
    q4 = parse_period(G.QUARTER, "2024/25 Q4")
    assert (q4.start, q4.end) == (dt.date(2025, 1, 1), dt.date(2025, 3, 31))


def test_financial_year_runs_april_to_march() -> None:
    fy = parse_period(G.FINANCIAL_YEAR, "2024/25")
    assert (fy.start, fy.end) == (dt.date(2024, 4, 1), dt.date(2025, 3, 31))


def test_rolling_year_is_the_twelve_months_ending_with_its_month() -> None:
    ye = parse_period(G.ROLLING_YEAR, "YE 2024-06")
    assert (ye.start, ye.end) == (dt.date(2023, 7, 1), dt.date(2024, 6, 30))
    assert parse_period(G.ROLLING_YEAR, "YE 2024-12").start == dt.date(2024, 1, 1)


@pytest.mark.parametrize(
    ("granularity", "label", "start", "end"),
    [
        (G.FINANCIAL_YEAR, "1999/00", dt.date(1999, 4, 1), dt.date(2000, 3, 31)),
        (G.FINANCIAL_YEAR, "2009/10", dt.date(2009, 4, 1), dt.date(2010, 3, 31)),
        (G.QUARTER, "1999/00 Q4", dt.date(2000, 1, 1), dt.date(2000, 3, 31)),
        (G.QUARTER, "2099/00 Q2", dt.date(2099, 7, 1), dt.date(2099, 9, 30)),
        (G.ROLLING_YEAR, "YE 2000-01", dt.date(1999, 2, 1), dt.date(2000, 1, 31)),
    ],
)
def test_century_and_decade_labels(
    granularity: Granularity, label: str, start: dt.date, end: dt.date
) -> None:
    period = parse_period(granularity, label)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize(
    ("granularity", "label"),
    [
        (G.MONTH, "2024-5"),
        (G.MONTH, "2024-13"),
        (G.MONTH, "2024-00"),
        (G.MONTH, "0000-01"),
        (G.MONTH, "２０２４-05"),  # full-width digits are digits to \\d, not to us
        (G.MONTH, " 2024-05"),
        (G.QUARTER, "2024/26 Q1"),
        (G.QUARTER, "2024/25 Q5"),
        (G.QUARTER, "2024/25 q1"),
        (G.QUARTER, "2024/25Q1"),
        (G.QUARTER, "2024-25 Q1"),
        (G.FINANCIAL_YEAR, "2024/2025"),
        (G.FINANCIAL_YEAR, "1999/2000"),
        (G.FINANCIAL_YEAR, "1999/01"),
        (G.FINANCIAL_YEAR, "9999/00"),  # would end in year 10000
        (G.ROLLING_YEAR, "2024-06"),
        (G.ROLLING_YEAR, "YE 2024-6"),
        (G.ROLLING_YEAR, "YE 0001-06"),  # would start in year 0
        (G.MONTH, "2024/25"),
    ],
)
def test_rejects_malformed_labels(granularity: Granularity, label: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(granularity, label)
    assert repr(label) in str(caught.value)


def test_period_errors_are_value_errors_of_the_schema() -> None:
    with pytest.raises(ValueError, match="expected '2024/25 Q1'"):
        parse_period(G.QUARTER, "Q1 2024")
    assert issubclass(PeriodError, SchemaError)


def test_wrong_second_year_names_the_right_label() -> None:
    with pytest.raises(PeriodError, match="'2009/10'"):
        parse_period(G.FINANCIAL_YEAR, "2009/11")


def test_quarters_starting_in_a_calendar_year() -> None:
    labels = [
        p.label
        for p in periods_starting_between(G.QUARTER, dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    ]
    assert labels == ["2023/24 Q4", "2024/25 Q1", "2024/25 Q2", "2024/25 Q3"]


def test_a_period_starting_before_the_range_is_left_out() -> None:
    months = periods_starting_between(G.MONTH, dt.date(2024, 1, 15), dt.date(2024, 3, 1))
    assert [p.label for p in months] == ["2024-02", "2024-03"]
    years = periods_starting_between(G.FINANCIAL_YEAR, dt.date(2024, 4, 2), dt.date(2026, 4, 1))
    assert [p.label for p in years] == ["2025/26", "2026/27"]


def test_rolling_years_are_selected_by_their_start() -> None:
    rolling = periods_starting_between(G.ROLLING_YEAR, dt.date(2023, 1, 1), dt.date(2023, 3, 1))
    assert [p.label for p in rolling] == ["YE 2023-12", "YE 2024-01", "YE 2024-02"]


def test_empty_range_gives_no_periods() -> None:
    assert (
        periods_starting_between(G.FINANCIAL_YEAR, dt.date(2024, 5, 1), dt.date(2025, 3, 1)) == []
    )


def test_reversed_range_is_refused() -> None:
    with pytest.raises(PeriodError, match="reversed"):
        periods_starting_between(G.MONTH, dt.date(2024, 2, 1), dt.date(2024, 1, 1))


def test_too_many_periods_are_refused() -> None:
    start = dt.date(1950, 1, 1)
    assert DEFAULT_MAX_PERIODS == 600
    allowed = periods_starting_between(G.MONTH, start, dt.date(1999, 12, 31))
    assert len(allowed) == 600
    with pytest.raises(PeriodError, match="601 MONTH periods; at most 600"):
        periods_starting_between(G.MONTH, start, dt.date(2000, 1, 1))
    with pytest.raises(PeriodError, match="at most 3"):
        periods_starting_between(G.QUARTER, start, dt.date(1951, 1, 1), max_periods=3)


def test_months_of_a_quarter_and_a_rolling_year() -> None:
    assert months_of(parse_period(G.QUARTER, "2024/25 Q4")) == ((2025, 1), (2025, 2), (2025, 3))
    rolling = months_of(parse_period(G.ROLLING_YEAR, "YE 2024-06"))
    assert rolling[0] == (2023, 7)
    assert rolling[-1] == (2024, 6)
    assert len(rolling) == 12


def test_month_end() -> None:
    assert month_end(1900, 2) == dt.date(1900, 2, 28)
    assert month_end(2000, 2) == dt.date(2000, 2, 29)
    assert month_end(2024, 12) == dt.date(2024, 12, 31)
    with pytest.raises(PeriodError):
        month_end(2024, 13)


def test_period_containing_a_day() -> None:
    day = dt.date(2025, 2, 3)
    assert period_containing(G.MONTH, day).label == "2025-02"
    assert period_containing(G.QUARTER, day).label == "2024/25 Q4"
    assert period_containing(G.FINANCIAL_YEAR, day).label == "2024/25"
    assert period_containing(G.ROLLING_YEAR, day).label == "YE 2025-02"


@given(st.sampled_from(Granularity), dates)
def test_label_round_trips(granularity: Granularity, day: dt.date) -> None:
    period = period_containing(granularity, day)
    assert parse_period(granularity, period.label) == period
    assert period.start <= day <= period.end
    assert str(period) == period.label


@given(st.sampled_from(Granularity), dates)
def test_periods_are_whole_months(granularity: Granularity, day: dt.date) -> None:
    period = period_containing(granularity, day)
    months = months_of(period)
    expected = 1 if granularity is G.MONTH else 3 if granularity is G.QUARTER else 12
    assert len(months) == expected
    assert period.start == dt.date(*months[0], 1)
    assert period.end == month_end(*months[-1])


@given(
    st.sampled_from([G.MONTH, G.QUARTER, G.FINANCIAL_YEAR]),
    dates,
    st.integers(min_value=0, max_value=4000),
)
def test_periods_tile_the_calendar(granularity: Granularity, start: dt.date, days: int) -> None:
    end = min(start + dt.timedelta(days=days), dt.date(9997, 12, 31))
    periods = periods_starting_between(granularity, start, end)
    for before, after in pairwise(periods):
        assert after.start == before.end + dt.timedelta(days=1)
    months = [m for p in periods for m in months_of(p)]
    assert len(months) == len(set(months))


START_MONTHS = {
    G.MONTH: range(1, 13),
    G.QUARTER: (1, 4, 7, 10),
    G.FINANCIAL_YEAR: (4,),
    G.ROLLING_YEAR: range(1, 13),
}


@given(st.sampled_from(Granularity), dates, st.integers(min_value=0, max_value=4000))
def test_every_period_starting_in_the_range_and_no_other(
    granularity: Granularity, start: dt.date, days: int
) -> None:
    end = min(start + dt.timedelta(days=days), dt.date(9996, 1, 31))
    periods = periods_starting_between(granularity, start, end)
    first_days = [
        dt.date(year, month, 1)
        for year in range(start.year, end.year + 1)
        for month in range(1, 13)
        if start <= dt.date(year, month, 1) <= end
    ]
    assert [p.start for p in periods] == [
        day for day in first_days if day.month in START_MONTHS[granularity]
    ]
    assert all(p.granularity is granularity for p in periods)
