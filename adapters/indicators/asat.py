"""Figures as at a past moment T, from the record versions valid at T.

The store keeps every version: the current row of each (force, crime_ref) with the moment
it was received (``valid_from``), and each replaced version with ``[valid_from,
valid_to)``. The version of a record as at T is the current row if ``valid_from <= T``,
else the replaced version with ``valid_from <= T < valid_to``; versions of one record never
overlap, so a UNION ALL of the two selects yields each record at most once, and a record
first received after T not at all.

Those rows go through the same ``ledger`` as the rollups, restricted to the one dimension
asked for, and the same read statements (``reading``) aggregate the ledger as they
aggregate the rollup tables: so an as-at figure for a T after the last submission equals
the current figure by construction. Cohort measures use the cutoff
``T.date()`` (T's own calendar date): charged with outcome_date on or before it, referred to
the CPS or suspect identified on or before it. Repeat suspects are counted among the active
versions valid at T.

Cost: one pass over one force's versions at T (an index range on each table), keeping only
the records the query's months can see (``_SEEN``: those of the last years, and those still
open), then two aggregates over them (docs/indicators.md has measured timings).
"""

# ruff: noqa: S608 - SQL is assembled from this package's constants, never from input

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import BindParameter, Connection, Date, TextClause, bindparam

from adapters.indicators import ledger, reading
from adapters.indicators.measures import DAY_MEASURES_BY_NAME, MEASURES_BY_NAME
from adapters.indicators.reading import Plan
from adapters.store.types import UTCDateTime

_VERSIONS: Final = f"""SELECT {ledger.columns("r")} FROM records AS r
        WHERE r.force_code = :force AND r.valid_from <= :as_at
        UNION ALL
        SELECT {ledger.columns("v")} FROM record_versions AS v
        WHERE v.force_code = :force AND v.valid_from <= :as_at AND v.valid_to > :as_at"""
# The records a query's months can see. One recorded before ``aged_from`` (366 days before
# the first month), assigned an outcome before ``window_start`` and with no device
# returned since counts only in months before the first: in the snapshots' cumulative
# sums, where it adds to both terms of each difference (recorded and assigned, aged and
# aged_closed) and so changes nothing. Leaving it out is exact.
_SEEN: Final = """(a.recorded_date >= :aged_from OR a.outcome_type IS NULL OR a.outcome_type = '0'
    OR a.outcome_date >= :window_start OR a.victim_device_returned_date >= :window_start)"""
_VERSIONS_AT: Final = ledger.with_repeat(_VERSIONS, keep=_SEEN)


def _typed(statement: TextClause, typed: Sequence[BindParameter[Any]]) -> TextClause:
    """``statement`` with the types of those of ``typed`` it uses."""
    return statement.bindparams(*(b for b in typed if f":{b.key}" in statement.text))


def read(
    conn: Connection, force: str, p: Plan, as_at: dt.datetime
) -> tuple[Sequence[Any], Sequence[Any]]:
    """The measure rows and day rows of one force as at ``as_at`` (see ``reading``).

    The versions valid at T the query's months can see go through the ``ledger`` inside
    one statement that aggregates it as the two statements reading the rollups do (CTEs:
    writing a few hundred thousand rows to a temporary table costs more than the rest).
    """
    window_start = dt.date(p.first_month // 12, p.first_month % 12 + 1, 1)
    params = {
        "force": force,
        "as_at": as_at,
        "cutoff": as_at.date(),
        "window_start": window_start,
        "aged_from": window_start - dt.timedelta(days=366),
    }
    dims = (p.dimension,)
    measures = [MEASURES_BY_NAME[m] for m in p.measures]
    day_measures = [DAY_MEASURES_BY_NAME[m] for m in p.day_measures]
    src = ledger.src_select(
        conn, _VERSIONS_AT, dimensions=dims, measures=measures, day_measures=day_measures
    )
    params |= reading.parameters(p, [force])
    typed: list[BindParameter[Any]] = [
        bindparam("as_at", type_=UTCDateTime()),
        bindparam("window_start", type_=Date()),
        bindparam("aged_from", type_=Date()),
        bindparam("cutoff", type_=Date()),
    ]
    measure_rows: Sequence[Any] = ()
    day_rows: Sequence[Any] = ()
    ctes = ledger.ctes(dimensions=dims, measures=measures, day_measures=day_measures, inline=src)
    if measures and day_measures:
        statement = reading.both_statement(p, "ledger", "day_ledger", ctes)
        rows = conn.execute(_typed(statement, typed), params).tuples()
        measure_rows, day_rows = reading.split_both(rows)
    elif measures:
        statement = reading.measure_statement(p, "ledger", ctes)
        measure_rows = conn.execute(_typed(statement, typed), params).tuples().all()
    else:
        statement = reading.day_statement(p, "day_ledger", ctes)
        day_rows = conn.execute(_typed(statement, typed), params).tuples().all()
    return measure_rows, day_rows
