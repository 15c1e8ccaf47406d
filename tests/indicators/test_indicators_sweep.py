"""Every indicator, granularity, scope and breakdown against the reference, on one rich history.

Hypothesis (``test_indicators_reference``) explores many small histories; this sweeps the
whole query space over one larger deterministic history (150 crime refs, three submissions
with updates, cancellations and stale rows, dates on the edges where figures turn).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pytest
from sqlalchemy import Engine

from adapters.indicators.query import IndicatorQuery
from adapters.indicators.source import LocalIndicatorSource
from schema.indicators.catalogue import Dimension, IndicatorId, OffenceScope
from schema.periods import Granularity, Period, periods_starting_between
from tests.indicators.indicator_reference import expected, replay, state_at
from tests.indicators.indicator_testkit import RandomPicker, cutoff, make_history, moments, push

HISTORY: Final = make_history(
    RandomPicker(20250101),
    refs=150,
    submissions=3,
    suspects=tuple(f"s{i}" for i in range(60)),
)
_EVERY: Final = {Granularity.MONTH: 4, Granularity.ROLLING_YEAR: 4}


def _periods(granularity: Granularity) -> tuple[Period, ...]:
    every = periods_starting_between(granularity, dt.date(2021, 9, 1), dt.date(2025, 5, 1))
    return tuple(every[:: _EVERY.get(granularity, 1)])


@pytest.fixture
def source(engine: Engine) -> LocalIndicatorSource:
    for submission in HISTORY:
        push(engine, submission)
    return LocalIndicatorSource(engine)


@pytest.mark.parametrize("granularity", list(Granularity))
def test_every_scope_and_breakdown_matches_the_reference(
    source: LocalIndicatorSource, granularity: Granularity
) -> None:
    versions = replay(HISTORY)
    combinations = [(scope, None) for scope in OffenceScope] + [
        (OffenceScope.ALL_RASSO, dimension) for dimension in Dimension
    ]
    combinations.append((OffenceScope.ALL_RAPE, Dimension.OFFENCE_GROUP))
    # [2]: the first arrival, seen ten hours west of UTC (the cohort cutoff bites);
    # [4]: the second arrival (updates, cancellations and stale rows have happened).
    for as_at in (None, moments(HISTORY)[2], moments(HISTORY)[4]):
        held = state_at(versions, as_at)
        for scope, breakdown in combinations:
            query = IndicatorQuery(
                tuple(IndicatorId),
                granularity,
                _periods(granularity),
                scope,
                breakdown,
                as_at,
            )
            assert source.partials("kent", query) == expected(held, query, cutoff(as_at)), (
                scope,
                breakdown,
                as_at,
            )
