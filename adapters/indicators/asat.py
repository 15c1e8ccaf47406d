"""Figures as at a past moment T, from the record versions valid at T.

The store keeps every version: the current row of each (force, crime_ref) with the moment
it was received (``valid_from``), and each replaced version with ``[valid_from,
valid_to)``. The version of a record as at T is the current row if ``valid_from <= T``,
else the replaced version with ``valid_from <= T < valid_to``; versions of one record never
overlap, so a UNION ALL of the two selects yields each record at most once, and a record
first received after T not at all.

Those rows go through the same ``ledger`` as the rollups, restricted to the one dimension
asked for, into temporary tables shaped like the rollup tables, which the same read
statements (``reading``) then aggregate: so an as-at figure for a T after the last
submission equals the current figure by construction. Cohort measures use the cutoff
``T.date()`` (T's own calendar date): charged with outcome_date on or before it, referred to
the CPS or suspect identified on or before it. Repeat suspects are counted among the active
versions valid at T.

Cost: one pass over one force's versions at T, then small aggregates (docs/indicators.md
has measured timings).
"""

# ruff: noqa: S608 - SQL is assembled from this package's constants, never from input

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection, bindparam

from adapters.indicators import dialect, ledger, reading
from adapters.indicators.measures import DAY_MEASURES_BY_NAME, MEASURES_BY_NAME
from adapters.indicators.reading import Plan
from adapters.store.types import UTCDateTime

_VERSIONS_AT: Final = ledger.with_repeat(
    f"""SELECT {ledger.columns("r")} FROM records AS r
        WHERE r.force_code = :force AND r.valid_from <= :as_at
        UNION ALL
        SELECT {ledger.columns("v")} FROM record_versions AS v
        WHERE v.force_code = :force AND v.valid_from <= :as_at AND v.valid_to > :as_at"""
)


ROLLUP: Final = "soteria_asat_rollup"
ROLLUP_DAYS: Final = "soteria_asat_rollup_days"


def read(
    conn: Connection, force: str, p: Plan, as_at: dt.datetime
) -> tuple[Sequence[Any], Sequence[Any]]:
    """The measure rows and day rows of one force as at ``as_at`` (see ``reading``).

    The versions valid at T are summed into temporary tables shaped like the rollup
    tables, which the very statements of the current figures then read.
    """
    params = {"force": force, "as_at": as_at, "cutoff": as_at.date()}
    dims = (p.dimension,)
    measures = [MEASURES_BY_NAME[m] for m in p.measures]
    day_measures = [DAY_MEASURES_BY_NAME[m] for m in p.day_measures]
    ledger.materialise(
        conn,
        _VERSIONS_AT,
        params,
        dimensions=dims,
        measures=measures,
        day_measures=day_measures,
        typed=[bindparam("as_at", type_=UTCDateTime())],
    )
    read_params = reading.parameters(p, [force])
    measure_rows: Sequence[Any] = ()
    day_rows: Sequence[Any] = ()
    if measures:
        ctes = ledger.ctes(dimensions=dims, measures=measures)
        dialect.create_temporary(conn, ROLLUP, ctes + ledger.sums(measures), {})
        statement = reading.measure_statement(p, ROLLUP)
        measure_rows = conn.execute(statement, read_params).tuples().all()
        dialect.drop_temporary(conn, ROLLUP)
    if day_measures:
        ctes = ledger.ctes(dimensions=dims, day_measures=day_measures)
        dialect.create_temporary(conn, ROLLUP_DAYS, ctes + ledger.day_sums(), {})
        statement = reading.day_statement(p, ROLLUP_DAYS)
        day_rows = conn.execute(statement, read_params).tuples().all()
        dialect.drop_temporary(conn, ROLLUP_DAYS)
    ledger.discard(conn)
    return measure_rows, day_rows
