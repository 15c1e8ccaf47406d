"""Snapshot indicators at their own period ends, exactly on the days they turn."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from adapters.indicators.query import IndicatorQuery
from adapters.indicators.source import LocalIndicatorSource
from schema.indicators.catalogue import IndicatorId
from schema.periods import Granularity, parse_period
from tests.indicators.indicator_testkit import FIRST_ARRIVAL, Rec, Submission, push

OPEN, OVER_365 = IndicatorId.OPEN_INVESTIGATIONS, IndicatorId.OPEN_OVER_365_DAYS
FEB_2024 = parse_period(Granularity.MONTH, "2024-02")  # ends on the leap day


def _snapshot(engine: Engine, *records: Rec, period: str = "2024-02") -> tuple[int, int]:
    push(engine, Submission("kent", FIRST_ARRIVAL, records))
    granularity = Granularity.QUARTER if " Q" in period else Granularity.MONTH
    query = IndicatorQuery((OPEN, OVER_365), granularity, (parse_period(granularity, period),))
    got = LocalIndicatorSource(engine).partials("kent", query)
    return got[(OPEN, period, None)].numerator, got[(OVER_365, period, None)].numerator


@pytest.mark.parametrize(
    ("recorded", "over_365"),
    [
        (dt.date(2023, 2, 28), 1),  # 366 days before 29 February 2024: more than 365
        (dt.date(2023, 3, 1), 0),  # exactly 365 days: not more
        (dt.date(2024, 2, 29), 0),  # recorded on the period end itself
    ],
)
def test_open_over_365_days_counts_strictly_more_than_365(
    engine: Engine, recorded: dt.date, over_365: int
) -> None:
    assert _snapshot(engine, Rec("c1", "19C", recorded)) == (1, over_365)


@pytest.mark.parametrize(
    ("outcome_date", "still_open"),
    [(dt.date(2024, 2, 29), 0), (dt.date(2024, 3, 1), 1)],
)
def test_a_record_closed_on_the_period_end_is_no_longer_open(
    engine: Engine, outcome_date: dt.date, still_open: int
) -> None:
    record = Rec("c1", "19C", dt.date(2022, 6, 1), outcome_type="18", outcome_date=outcome_date)
    assert _snapshot(engine, record) == (still_open, still_open)


def test_a_quarter_snapshot_is_taken_at_its_own_end_not_summed(engine: Engine) -> None:
    records = (
        Rec("c1", "19C", dt.date(2023, 10, 5)),  # open throughout
        Rec("c2", "19C", dt.date(2023, 11, 5), outcome_type="1", outcome_date=dt.date(2023, 12, 1)),
        Rec("c3", "19C", dt.date(2022, 12, 30), outcome_type="9", outcome_date=dt.date(2024, 1, 2)),
    )
    # 2023/24 Q3 ends on 31 December 2023: c1 open; c3 open, recorded 366 days before.
    assert _snapshot(engine, *records, period="2023/24 Q3") == (2, 1)


def test_records_later_than_the_period_end_are_not_yet_open(engine: Engine) -> None:
    later = Rec("c1", "19C", dt.date(2024, 3, 1))
    cancelled = Rec("c2", "19C", dt.date(2023, 1, 1), record_status="cancelled")
    assert _snapshot(engine, later, cancelled) == (0, 0)
