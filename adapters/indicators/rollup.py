"""Keeping the rollup tables exact, inside the ingestion transaction (a ``ChangeHook``).

Invariant: for every force, ``indicator_rollup`` and ``indicator_rollup_days`` hold exactly
the ledger (``ledger``) of the force's current active records. A submission keeps it by
subtracting the contributions of the rows it is about to replace (``before_apply``: stage
rows classified ``update`` joined to ``records``) and adding those of the rows it wrote
(``after_apply``: stage rows ``NULL`` (insert) or ``update`` joined to the new ``records``).
Both run in the ingestion's transaction, so figures and records commit or roll back
together; a cancellation is just an update whose new row contributes nothing.

Repeat suspects need more, because a record's repeat flag depends on the *other* records of
its suspect: one new record can make its suspect's earlier record a repeat. So the suspects
a submission touches (old and new suspect_refs of the staged rows) are collected first; for
each, the repeat contributions of all its active records are subtracted before the apply and
re-added after it, each time from that moment's state. Everything is ``INSERT ... SELECT ...
GROUP BY ... ON CONFLICT DO UPDATE SET x = table.x + excluded.x``: no per-row Python.
"""

# ruff: noqa: S608 - SQL is assembled from this package's constants, never from input

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import Connection, Engine, text, update

from adapters.indicators import dialect, ledger, quality
from adapters.indicators.ledger import ROLLUP_DIMENSIONS
from adapters.indicators.measures import (
    DAY_MEASURES,
    MEASURES,
    RECORD_MEASURES,
    REPEAT,
    DayMeasure,
    Measure,
)
from adapters.indicators.models import (
    indicator_quality,
    indicator_rollup,
    indicator_rollup_days,
)
from adapters.store.models import ForceRow
from adapters.store.staging import STAGE

TOUCHED: Final = "soteria_touched_suspects"
# Cohort measures of the current figures: every stored date is on or before the day it was
# received, so "on or before now" is "set".
CURRENT_CUTOFF: Final = dt.date(9999, 12, 31)
_ROLLUP_KEY: Final = "force_code, offence_group, dimension, bucket, month"
_DAYS_KEY: Final = "force_code, offence_group, dimension, bucket, measure, month, days"

_REPLACED: Final = f"""SELECT {ledger.columns("r")}, 0 AS rep
    FROM records AS r JOIN {STAGE} AS s ON s.crime_ref = r.crime_ref
    WHERE r.force_code = :force AND s.action = 'update'"""
_WRITTEN: Final = f"""SELECT {ledger.columns("r")}, 0 AS rep
    FROM records AS r JOIN {STAGE} AS s ON s.crime_ref = r.crime_ref
    WHERE r.force_code = :force AND (s.action IS NULL OR s.action = 'update')"""
_REPEATED: Final = f"""SELECT {ledger.columns("r")}, 1 AS rep
    FROM records AS r
    WHERE r.force_code = :force AND r.suspect_ref IN (
        SELECT x.suspect_ref FROM records AS x
        JOIN {TOUCHED} AS t ON t.suspect_ref = x.suspect_ref
        WHERE x.force_code = :force AND {ledger.active("x")}
        GROUP BY x.suspect_ref HAVING COUNT(*) >= 2)"""
_ALL: Final = ledger.with_repeat(
    f"SELECT {ledger.columns('r')} FROM records AS r WHERE r.force_code = :force"
)
_COLLECT_TOUCHED: Final = f"""INSERT INTO {TOUCHED} (suspect_ref)
    SELECT suspect_ref FROM {STAGE}
    WHERE (action IS NULL OR action = 'update') AND suspect_ref IS NOT NULL
    UNION
    SELECT r.suspect_ref FROM records AS r JOIN {STAGE} AS s ON s.crime_ref = r.crime_ref
    WHERE r.force_code = :force AND s.action = 'update' AND r.suspect_ref IS NOT NULL"""
_ZERO: Final = " AND ".join(f"{m.name} = 0" for m in MEASURES)


def _upsert(measures: tuple[Measure, ...], sign: int) -> str:
    table = indicator_rollup.name
    names = ", ".join(m.name for m in measures)
    sets = ", ".join(f"{m.name} = {table}.{m.name} + excluded.{m.name}" for m in measures)
    return f"""INSERT INTO {table} ({_ROLLUP_KEY}, {names})
        {ledger.sums(measures, negate=sign < 0)}
        ON CONFLICT ({_ROLLUP_KEY}) DO UPDATE SET {sets}"""


def _upsert_days(sign: int) -> str:
    table = indicator_rollup_days.name
    return f"""INSERT INTO {table} ({_DAYS_KEY}, n)
        {ledger.day_sums(negate=sign < 0)}
        ON CONFLICT ({_DAYS_KEY}) DO UPDATE SET n = {table}.n + excluded.n"""


def _add(
    conn: Connection,
    force: str,
    source: str,
    *,
    sign: int,
    measures: tuple[Measure, ...],
    day_measures: tuple[DayMeasure, ...] = (),
) -> None:
    """Add ``sign`` times the ledger of ``source`` to the rollup tables."""
    dims = ROLLUP_DIMENSIONS
    params = {"force": force, "cutoff": CURRENT_CUTOFF}
    rows = ledger.materialise(
        conn, source, params, dimensions=dims, measures=measures, day_measures=day_measures
    )
    if rows == 0:  # (SQLite reports -1: unknown)
        ledger.discard(conn)
        return
    conn.execute(text(ledger.ctes(dimensions=dims, measures=measures) + _upsert(measures, sign)))
    if day_measures:
        sql = ledger.ctes(dimensions=dims, day_measures=day_measures) + _upsert_days(sign)
        conn.execute(text(sql))
    ledger.discard(conn)


class RollupHook:
    """The ``adapters.store.ingest.ChangeHook`` that keeps the rollup tables exact."""

    def before_apply(self, conn: Connection, force: str) -> None:
        with dialect.roomy_planner(conn):
            self._before(conn, force)

    def after_apply(self, conn: Connection, force: str) -> None:
        with dialect.roomy_planner(conn):
            self._after(conn, force)

    def _before(self, conn: Connection, force: str) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {TOUCHED} (suspect_ref text PRIMARY KEY) ON COMMIT DROP"
            )
        else:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{TOUCHED}")
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {TOUCHED} (suspect_ref PRIMARY KEY)")
        conn.execute(text(_COLLECT_TOUCHED), {"force": force})
        if _any(conn, _ANY_UPDATE):
            quality.add_counts(conn, force, quality.REPLACED, negate=True)
            _add(
                conn, force, _REPLACED, sign=-1, measures=RECORD_MEASURES, day_measures=DAY_MEASURES
            )
        if _any(conn, _ANY_TOUCHED):
            _add(conn, force, _REPEATED, sign=-1, measures=(REPEAT,))

    def _after(self, conn: Connection, force: str) -> None:
        quality.add_counts(conn, force, quality.WRITTEN)
        _add(conn, force, _WRITTEN, sign=+1, measures=RECORD_MEASURES, day_measures=DAY_MEASURES)
        if _any(conn, _ANY_TOUCHED):
            _add(conn, force, _REPEATED, sign=+1, measures=(REPEAT,))
        conn.exec_driver_sql(f"DROP TABLE {TOUCHED}")
        if _any(conn, _ANY_UPDATE):
            delete_zero_rows(conn, force)


_ANY_UPDATE: Final = f"SELECT 1 FROM {STAGE} WHERE action = 'update' LIMIT 1"
_ANY_TOUCHED: Final = f"SELECT 1 FROM {TOUCHED} LIMIT 1"


def _any(conn: Connection, sql: str) -> bool:
    return conn.exec_driver_sql(sql).first() is not None


def delete_zero_rows(conn: Connection, force: str) -> None:
    """Drop keys whose every measure went back to 0 (they would only take space)."""
    params = {"force": force}
    conn.execute(
        text(f"DELETE FROM {indicator_rollup.name} WHERE force_code = :force AND {_ZERO}"),
        params,
    )
    conn.execute(
        text(f"DELETE FROM {indicator_rollup_days.name} WHERE force_code = :force AND n = 0"),
        params,
    )


def rebuild(conn: Connection, force: str) -> None:
    """Recompute a force's rollups from its current records (backfill, repair, tests)."""
    params = {"force": force}
    for table in (indicator_rollup, indicator_rollup_days, indicator_quality):
        conn.execute(text(f"DELETE FROM {table.name} WHERE force_code = :force"), params)
    quality.add_counts(conn, force, quality.ALL)
    with dialect.roomy_planner(conn):
        _add(conn, force, _ALL, sign=+1, measures=MEASURES, day_measures=DAY_MEASURES)


def rebuild_all(engine: Engine) -> None:
    """Rebuild every force, one transaction each, serialised with its ingestion.

    The force row is locked as ingestion locks it, and ``data_version`` is bumped so that
    figures cached from the old rollups are not served again.
    """
    with engine.connect() as conn:
        forces = [code for (code,) in conn.execute(text("SELECT code FROM forces")).tuples()]
    for force in forces:
        with engine.begin() as conn:
            conn.execute(
                update(ForceRow)
                .where(ForceRow.code == force)
                .values(data_version=ForceRow.data_version + 1)
            )
            rebuild(conn, force)
