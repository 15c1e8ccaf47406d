"""Keeping the rollup tables exact, inside the ingestion transaction (a ``ChangeHook``).

Invariant: for every force, ``indicator_rollup`` and ``indicator_rollup_days`` hold exactly
the ledger (``ledger``) of the force's current active records. A submission keeps it by
writing its *net change*, worked out before the apply from the stage (the merge writes
exactly the staged values): the records about to be replaced go into one ledger with
weight -1, the rows about to be inserted or to replace them with +1, and only the keys
whose sums do not cancel out are written. An update row that changes no field a figure
reads (a new ``updated_at`` only) is left out altogether; one that moves one date changes
a few keys, its other contributions cancelling in the sum, never reaching the tables. A
cancellation is just an update whose new row contributes nothing. The hook runs in the
ingestion's transaction, so figures and records commit or roll back together.

Repeat suspects need more, because a record's repeat flag depends on the *other* records of
its suspect: one new record can make its suspect's earlier record a repeat. So the suspects
a submission touches are collected first: those of new records, and the old and new ones of
records whose suspect, status or key fields change (any other change leaves every suspect's
set of active records, and where their flags are counted, as it was). The repeat flags of
all their active records go into the same ledger with repeat weight -1 as they stood before
the apply, and +1 as they stand after it.

Writing is ``INSERT ... SELECT ... GROUP BY ... HAVING (a sum is not 0) ON CONFLICT DO
UPDATE SET x = table.x + excluded.x RETURNING`` the keys written, so the keys whose every
measure went back to 0 are deleted by key, never by a scan of the force's rows. No per-row
Python.
"""

# ruff: noqa: S608 - SQL is assembled from this package's constants, never from input

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection, Engine, bindparam, select, text, update

from adapters.indicators import dialect, ledger, quality
from adapters.indicators.ledger import ROLLUP_DIMENSIONS
from adapters.indicators.measures import DAY_MEASURES, MEASURES
from adapters.indicators.models import (
    indicator_changes,
    indicator_quality,
    indicator_rollup,
    indicator_rollup_days,
)
from adapters.store.models import ForceRow
from adapters.store.sql_text import sql_text
from adapters.store.staging import STAGE, TOUCHED
from schema.indicators.catalogue import DIMENSION_FIELDS

# Cohort measures of the current figures: every stored date is on or before the day it was
# received, so "on or before now" is "set".
CURRENT_CUTOFF: Final = dt.date(9999, 12, 31)
# In the order ``ledger.sums`` and ``ledger.day_sums`` select them.
_ROLLUP_KEY: Final = ("force_code", "offence_group", "dimension", "bucket", "month")
CHANGES_KEPT: Final = 256  # versions of listed months kept per force
_MARKER: Final = -1  # the month of a version's marker row in ``indicator_changes``
_DAYS_KEY: Final = (
    *("force_code", "offence_group", "dimension", "bucket"),
    *("measure", "month", "days"),
)

# The primary keys' column order (models), for writing in index order.
_DAYS_MONTH: Final = _DAYS_KEY.index("month")
_ORDER: Final = ", ".join(c.name for c in indicator_rollup.primary_key.columns)
_DAYS_ORDER: Final = ", ".join(c.name for c in indicator_rollup_days.primary_key.columns)


def _differs(dialect: str, fields: Sequence[str]) -> str:
    """SQL: the staged row ``s`` and the stored record ``r`` differ in one of ``fields``."""
    op = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return "(" + " OR ".join(f"s.{f} {op} r.{f}" for f in fields) + ")"


# Where a record's repeat flag is counted: its suspect's set of active records, and the key
# (recorded month, offence group, buckets) its flag is counted under.
_REPEAT_FIELDS: Final = (
    "suspect_ref",
    "record_status",
    "recorded_date",
    "offence_code",
    *DIMENSION_FIELDS.values(),
)
_STAGED_UPDATE: Final = f"""FROM records AS r JOIN {STAGE} AS s ON s.crime_ref = r.crime_ref
    WHERE r.force_code = :force AND s.action = 'update'"""


def _replaced(dialect: str) -> str:
    """Records about to be replaced by rows that change a figure, weight -1."""
    return f"""SELECT {ledger.columns("r")}, 0 AS rep, -1 AS w, 0 AS wr {_STAGED_UPDATE}
        AND {_differs(dialect, ledger.SOURCE_FIELDS)}"""


def _written(dialect: str) -> str:
    """The staged rows that will be inserted, or replace a record and change a figure, +1.

    Read from the stage before the apply: the merge writes exactly these values.
    """
    fields = ", ".join(f"s.{f}" for f in ledger.SOURCE_FIELDS)
    return f"""SELECT CAST(:force AS VARCHAR(40)) AS force_code, {fields}, 0 AS rep, 1 AS w, 0 AS wr
        FROM {STAGE} AS s WHERE s.action IS NULL
        UNION ALL
        SELECT CAST(:force AS VARCHAR(40)) AS force_code, {fields}, 0 AS rep, 1 AS w, 0 AS wr
        {_STAGED_UPDATE} AND {_differs(dialect, ledger.SOURCE_FIELDS)}"""


def _repeated(weight: int) -> str:
    """The records of touched suspects on two or more active records, repeat weight +-1.

    Driven by the touched suspects, each counted by probing the (force, suspect_ref) index:
    a join the other way round walks the whole index of a large force.
    """
    return f"""SELECT {ledger.columns("r")}, 1 AS rep, 0 AS w, {weight} AS wr
    FROM {TOUCHED} AS t
    JOIN records AS r ON r.force_code = :force AND r.suspect_ref = t.suspect_ref
    WHERE (SELECT COUNT(*) FROM records AS x
           WHERE x.force_code = :force AND x.suspect_ref = t.suspect_ref
             AND {ledger.active("x")}) >= 2"""


def _collect_touched(dialect: str) -> str:
    """The suspects whose records' repeat flags may change or move: those of new records,
    and the old and new suspects of records changing a field in ``_REPEAT_FIELDS``."""
    return f"""INSERT INTO {TOUCHED} (suspect_ref)
        SELECT suspect_ref FROM {STAGE} WHERE action IS NULL AND suspect_ref IS NOT NULL
        UNION
        SELECT s.suspect_ref {_STAGED_UPDATE}
            AND s.suspect_ref IS NOT NULL AND {_differs(dialect, _REPEAT_FIELDS)}
        UNION
        SELECT r.suspect_ref {_STAGED_UPDATE}
            AND r.suspect_ref IS NOT NULL AND {_differs(dialect, _REPEAT_FIELDS)}"""


_ALL: Final = ledger.with_repeat(
    f"SELECT {ledger.columns('r')} FROM records AS r WHERE r.force_code = :force"
)
_EMPTY: Final = " AND ".join(f"{m.name} = 0" for m in MEASURES)
_LEDGER_ARGUMENTS: Final[dict[str, Any]] = {
    "dimensions": ROLLUP_DIMENSIONS,
    "measures": MEASURES,
    "day_measures": DAY_MEASURES,
}


def _upsert(*, returning: bool) -> str:
    table, key = indicator_rollup.name, ", ".join(_ROLLUP_KEY)
    names = ", ".join(m.name for m in MEASURES)
    sets = ", ".join(f"{m.name} = {table}.{m.name} + excluded.{m.name}" for m in MEASURES)
    return f"""INSERT INTO {table} ({key}, {names})
        {ledger.sums(MEASURES, changes_only=True, order=_ORDER)}
        ON CONFLICT ({key}) DO UPDATE SET {sets}""" + (
        f" RETURNING {key}, CASE WHEN {_EMPTY} THEN 1 ELSE 0 END" if returning else ""
    )


def _upsert_days(*, returning: bool) -> str:
    table, key = indicator_rollup_days.name, ", ".join(_DAYS_KEY)
    return f"""INSERT INTO {table} ({key}, n)
        {ledger.day_sums(changes_only=True, order=_DAYS_ORDER)}
        ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n""" + (
        f" RETURNING {key}, CASE WHEN n = 0 THEN 1 ELSE 0 END" if returning else ""
    )


def _write(conn: Connection, *, emptying: bool) -> set[int]:
    """Add ``SRC``'s ledger to the rollup tables; delete the keys it brought back to 0.

    Returns the months of the histogram keys written (empty unless ``emptying``).
    ``emptying`` False: the ledger only adds (a rebuild), so no key can go back to 0.
    """
    months: set[int] = set()
    for sql, table, key, extra in (
        (
            _upsert(returning=emptying),
            indicator_rollup.name,
            _ROLLUP_KEY,
            _EMPTY,
        ),
        (
            _upsert_days(returning=emptying),
            indicator_rollup_days.name,
            _DAYS_KEY,
            "n = 0",
        ),
    ):
        dims = ROLLUP_DIMENSIONS
        ctes = (
            ledger.ctes(dimensions=dims, measures=MEASURES)
            if table == indicator_rollup.name
            else ledger.ctes(dimensions=dims, day_measures=DAY_MEASURES)
        )
        result = conn.execute(sql_text(ctes + sql))
        if not emptying:
            continue
        written = result.tuples().all()
        if table == indicator_rollup_days.name:
            months.update(row[_DAYS_MONTH] for row in written)
        emptied = [row[:-1] for row in written if row[-1]]
        if emptied:
            _delete(conn, table, key, extra, emptied)
    return months


def _log_changes(conn: Connection, force: str, months: set[int]) -> None:
    """List the months this submission changed under the data version it will make.

    The force row is locked for the whole ingestion, and the version is bumped once at its
    end: so the submission's version is the stored one plus one. A submission that changes
    no record does not bump it; its (empty) listing then merges into the next one's, which
    only lists a month too many. Listings older than ``CHANGES_KEPT`` versions are pruned.
    """
    version = conn.execute(
        select(ForceRow.data_version + 1).where(ForceRow.code == force)
    ).scalar_one()
    rows = [{"force": force, "version": version, "month": m} for m in (_MARKER, *months)]
    table = indicator_changes.name
    conflict = "ON CONFLICT (force_code, data_version, month) DO NOTHING"
    conn.execute(
        sql_text(f"INSERT INTO {table} VALUES (:force, :version, :month) {conflict}"), rows
    )
    conn.execute(
        sql_text(f"DELETE FROM {table} WHERE force_code = :force AND data_version < :oldest"),
        {"force": force, "oldest": version - CHANGES_KEPT},
    )


_CHANGES: Final = select(indicator_changes.c.data_version, indicator_changes.c.month).where(
    indicator_changes.c.force_code == bindparam("force"),
    indicator_changes.c.data_version > bindparam("since"),
    indicator_changes.c.data_version <= bindparam("until"),
)


def changed_months(conn: Connection, force: str, since: int, until: int) -> set[int] | None:
    """The months whose histograms changed in versions ``since`` (excluded) to ``until``;
    None when a version in between is not listed (a rebuild, or pruned): read it all."""
    if until <= since:
        return set()
    rows = conn.execute(_CHANGES, {"force": force, "since": since, "until": until}).tuples()
    months: set[int] = set()
    listed: set[int] = set()
    for version, month in rows:
        if month == _MARKER:
            listed.add(version)
        else:
            months.add(month)
    if len(listed) != until - since:
        return None
    return months


def _delete(
    conn: Connection, table: str, key: Sequence[str], empty: str, rows: list[Sequence[Any]]
) -> None:
    where = " AND ".join(f"{column} = :{column}" for column in key)
    conn.execute(
        sql_text(f"DELETE FROM {table} WHERE {where} AND {empty}"),
        [dict(zip(key, row, strict=True)) for row in rows],
    )


class RollupHook:
    """The ``adapters.store.ingest.ChangeHook`` that keeps the rollup tables exact."""

    def before_apply(self, conn: Connection, force: str) -> None:
        with dialect.roomy_planner(conn):
            self._before(conn, force)

    def after_apply(self, conn: Connection, force: str) -> None:
        with dialect.roomy_planner(conn):
            self._after(conn, force)

    def _before(self, conn: Connection, force: str) -> None:
        if conn.dialect.name != "postgresql":  # there it is made once per connection
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{TOUCHED}")
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {TOUCHED} (suspect_ref PRIMARY KEY)")
        name = conn.dialect.name
        params = {"force": force, "cutoff": CURRENT_CUTOFF}
        conn.execute(sql_text(_collect_touched(name)), params)
        quality.add_net_counts(conn, force)
        source = f"{_replaced(name)} UNION ALL {_written(name)}"
        if _any(conn, _ANY_TOUCHED):
            source += f" UNION ALL {_repeated(-1)}"
        ledger.materialise(conn, source, params, **_LEDGER_ARGUMENTS)

    def _after(self, conn: Connection, force: str) -> None:
        params = {"force": force, "cutoff": CURRENT_CUTOFF}
        if _any(conn, _ANY_TOUCHED):
            ledger.append(conn, _repeated(+1), params, **_LEDGER_ARGUMENTS)
        _log_changes(conn, force, _write(conn, emptying=True))
        ledger.discard(conn)
        if conn.dialect.name == "postgresql":  # kept for the connection: emptied for the next
            conn.exec_driver_sql(f"DELETE FROM {TOUCHED}")  # batch of this transaction
        else:
            conn.exec_driver_sql(f"DROP TABLE {TOUCHED}")


_ANY_TOUCHED: Final = f"SELECT 1 FROM {TOUCHED} LIMIT 1"


def _any(conn: Connection, sql: str) -> bool:
    return conn.exec_driver_sql(sql).first() is not None


def rebuild(conn: Connection, force: str) -> None:
    """Recompute a force's rollups from its current records (backfill, repair, tests)."""
    params = {"force": force, "cutoff": CURRENT_CUTOFF}
    for table in (indicator_rollup, indicator_rollup_days, indicator_quality):
        conn.execute(sql_text(f"DELETE FROM {table.name} WHERE force_code = :force"), params)
    quality.add_counts(conn, force, quality.ALL)
    with dialect.roomy_planner(conn):
        ledger.materialise(conn, _ALL, params, **_LEDGER_ARGUMENTS)
        _write(conn, emptying=False)
        ledger.discard(conn)


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
