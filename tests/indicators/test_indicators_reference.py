"""The engine agrees exactly with an independent reference, on generated histories.

Each example pushes one or more submissions through the real ingestion (rollups maintained
by the hook), then asks for random queries, current and as at moments before, at and
between the arrivals, and compares every partial with ``indicator_reference``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from adapters.indicators.source import LocalIndicatorSource
from schema.indicators.partials import merge
from tests.indicators.indicator_reference import expected, replay, state_at
from tests.indicators.indicator_testkit import (
    Submission,
    cutoff,
    histories,
    moments,
    push,
    queries,
    reset,
)

SETTINGS = settings(
    max_examples=18,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _load(engine: Engine, history: list[Submission]) -> None:
    reset(engine)
    for submission in history:
        push(engine, submission)


@SETTINGS
@given(history=histories(), data=st.data())
def test_current_and_as_at_figures_match_the_reference(
    engine: Engine, history: list[Submission], data: st.DataObject
) -> None:
    _load(engine, history)
    source = LocalIndicatorSource(engine)
    versions = replay(history)
    for as_at in (None, data.draw(st.sampled_from(moments(history)), label="as_at")):
        query = data.draw(queries(as_at), label="query")
        want = expected(state_at(versions, as_at), query, cutoff(as_at))
        assert source.partials("kent", query) == want


@SETTINGS
@given(
    kent=histories("kent", max_submissions=2),
    essex=histories("essex", max_submissions=2),
    data=st.data(),
)
def test_merged_forces_equal_the_figures_of_their_union(
    engine: Engine, kent: list[Submission], essex: list[Submission], data: st.DataObject
) -> None:
    _load(engine, kent + essex)
    as_at = data.draw(st.none() | st.sampled_from(moments(kent + essex)), label="as_at")
    query = data.draw(queries(as_at), label="query")
    got = LocalIndicatorSource(engine).partials_many(["kent", "essex"], query)
    merged = {key: merge([got["kent"][key], got["essex"][key]]) for key in got["kent"]}
    want = expected(state_at(replay(kent + essex), as_at), query, cutoff(as_at))
    assert merged == want
