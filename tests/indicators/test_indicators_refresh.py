"""A cached force refreshed after a submission equals the force read afresh.

``CachedLocalSource`` answers a query again after each submission by re-reading the counts
and only the histograms of periods holding a month the submission changed
(``indicator_changes``); after a rebuild (whose version is not listed) it reads in full.
Whatever happened, its answer must equal ``LocalIndicatorSource``'s, read from scratch.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from adapters.indicators.query import ForcePartials, IndicatorQuery
from adapters.indicators.rollup import rebuild_all
from adapters.indicators.source import LocalIndicatorSource
from adapters.indicators.wire import SourceAnswer
from gateway.indicators.sources import CachedLocalSource
from schema.indicators.catalogue import IndicatorId
from schema.periods import Granularity, parse_period
from tests.indicators.indicator_testkit import (
    FIRST_ARRIVAL,
    Rec,
    Submission,
    histories,
    push,
    queries,
    reset,
)


class Counting(LocalIndicatorSource):
    """The real source, counting refreshes and how many could be done incrementally."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.refreshed: list[bool] = []

    def refresh(
        self, force: str, query: IndicatorQuery, old: ForcePartials, version: int
    ) -> SourceAnswer | None:
        answer = super().refresh(force, query, old, version)
        self.refreshed.append(answer is not None)
        return answer


def _cached(engine: Engine) -> tuple[CachedLocalSource, Counting]:
    cached = CachedLocalSource(engine)
    cached.local = counting = Counting(engine)
    return cached, counting


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=histories(max_submissions=4),
    rebuild_after=st.none() | st.integers(0, 3),
    data=st.data(),
)
def test_refreshed_answers_equal_answers_read_afresh(
    engine: Engine, history: list[Submission], rebuild_after: int | None, data: st.DataObject
) -> None:
    reset(engine)
    cached, _ = _cached(engine)
    query = data.draw(queries(), label="query")
    fresh = LocalIndicatorSource(engine)
    for i, submission in enumerate(history):
        push(engine, submission)
        if i == rebuild_after:
            rebuild_all(engine)
        answer = cached.answer(["kent"], query)
        assert answer.partials["kent"] == fresh.partials("kent", query)
        assert answer.versions["kent"] == fresh.stamps(["kent"])["kent"]


def _send(engine: Engine, day: int, *records: Rec) -> None:
    push(engine, Submission("kent", FIRST_ARRIVAL + dt.timedelta(days=day), records))


QUERY = IndicatorQuery(
    (IndicatorId.MEDIAN_DAYS_TO_OUTCOME, IndicatorId.OUTCOMES_ASSIGNED),
    Granularity.QUARTER,
    tuple(parse_period(Granularity.QUARTER, q) for q in ("2023/24 Q1", "2023/24 Q4")),
)


def test_a_submission_is_refreshed_and_a_rebuild_read_in_full(engine: Engine) -> None:
    cached, counting = _cached(engine)
    opened = Rec("c1", "19C", dt.date(2023, 4, 3))
    _send(engine, 0, opened, Rec("c2", "19C", dt.date(2023, 4, 4)))
    cached.answer(["kent"], QUERY)
    closed = Rec(
        "c1", "19C", dt.date(2023, 4, 3), outcome_type="1", outcome_date=dt.date(2024, 2, 1)
    )
    _send(engine, 1, closed)
    answer = cached.answer(["kent"], QUERY)
    assert counting.refreshed == [True]
    median = answer.partials["kent"][(IndicatorId.MEDIAN_DAYS_TO_OUTCOME, "2023/24 Q4", None)]
    assert median.median == (dt.date(2024, 2, 1) - dt.date(2023, 4, 3)).days
    rebuild_all(engine)
    assert cached.answer(["kent"], QUERY).partials == answer.partials
    assert counting.refreshed == [True, False]
