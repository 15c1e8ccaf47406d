"""The pre-serialised rows of a cached table are exactly the rows, serialised."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given
from hypothesis import strategies as st

from schema.periods import Granularity, periods_starting_between
from schema.tables import Coverage, IndicatorTable, PreparedRows, TableCell

PERIODS = periods_starting_between(Granularity.QUARTER, dt.date(2024, 1, 1), dt.date(2025, 12, 31))
VALUES = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
)
TEXT = st.one_of(st.none(), st.text(max_size=12))

cells = st.builds(
    TableCell,
    indicator=st.text(min_size=1, max_size=8),
    force=TEXT,
    group=TEXT,
    period=st.sampled_from(PERIODS),
    breakdown=TEXT,
    value=VALUES,
    numerator=st.one_of(st.none(), st.integers(0, 10**9)),
    denominator=st.one_of(st.none(), st.integers(0, 10**9)),
    suppressed=st.booleans(),
    exact=st.booleans(),
    note=TEXT,
)


@given(st.lists(cells, max_size=20).map(tuple))
def test_prepared_rows_equal_the_rows_serialised(found: tuple[TableCell, ...]) -> None:
    coverage = Coverage(included=(), missing=(), stale=())
    plain = IndicatorTable(cells=found, coverage=coverage)
    prepared = IndicatorTable(cells=found, coverage=coverage, prepared=PreparedRows(found))
    assert prepared.rows_json() == plain.rows_json() == orjson.dumps(plain.rows())
    assert orjson.loads(prepared.rows_json()) == orjson.loads(orjson.dumps(plain.rows()))
    # Serialised once: the second call returns the very same bytes.
    assert prepared.rows_json() is prepared.rows_json()


@given(st.lists(cells, max_size=30).map(tuple))
def test_the_summary_of_a_cached_table_is_that_of_its_cells(
    table_cells: tuple[TableCell, ...],
) -> None:
    """What an audit event records of a table: the cells showing a figure, and periods."""
    prepared = PreparedRows(table_cells)
    table = IndicatorTable(table_cells, Coverage((), (), ()), prepared=prepared)
    shown = [c for c in table_cells if c.value is not None and not c.suppressed]
    assert prepared.summary() == table.summary() == prepared.summary()
    assert table.summary().shown == len(shown)
    assert table.summary().period_labels == {c.period.label for c in table_cells}
    assert IndicatorTable(table_cells, Coverage((), (), ())).summary() == table.summary()
