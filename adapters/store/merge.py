"""Set-based merge of the staging table into ``records`` and ``record_versions``.

Each staged row is classified once (``action``): NULL = new crime_ref (insert), ``update``,
``unchanged`` (every field equal) or ``stale`` (its ``updated_at`` is older than the stored
one: not applied). Rows staged ``direct`` were COPYed into ``records`` already
(``staging.copy_records``): they stay NULL and are neither classified, counted nor inserted
here. Replaced versions are copied to ``record_versions`` before the update, so
no version is ever lost.

Cost: ``apply`` runs only the statements that have rows to write (a push of new rows is one
``INSERT ... SELECT``, an all-unchanged push writes nothing), and on PostgreSQL writes in
``crime_ref`` order, so the primary key grows page by page instead of splitting pages all
over (index upkeep, not the row data, is what bounds a large push). ``classify`` joins
nothing when the force holds no records. On PostgreSQL the stage is
joined to ``records`` by primary-key probes and then by ctid (see ``_PG_CLASSIFY_SQL``), so
a batch costs the same whatever the size of the force and whatever statistics the planner
has (``records`` has none while a first load is still in its transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, bindparam, text

from adapters.store.sql_text import sql_text
from adapters.store.staging import STAGE
from adapters.store.types import UTCDateTime
from schema.record import FIELD_NAMES

_DATA_FIELDS: Final = tuple(name for name in FIELD_NAMES if name != "crime_ref")


def _same(dialect: str, column: str) -> str:
    op = "IS NOT DISTINCT FROM" if dialect == "postgresql" else "IS"
    return f"s.{column} {op} r.{column}"


def _action(dialect: str) -> str:
    all_same = " AND ".join(_same(dialect, c) for c in _DATA_FIELDS)
    return f"""CASE
            WHEN r.updated_at IS NOT NULL AND s.updated_at IS NOT NULL
                 AND s.updated_at < r.updated_at THEN 'stale'
            WHEN {all_same} THEN 'unchanged'
            ELSE 'update' END"""


# PostgreSQL: each staged row looks its record up by the primary key (a correlated
# subquery: one index probe a row, however many records the force holds and whatever the
# planner believes of them) and keeps the record's ctid, so the versions and the update
# fetch it again by address. The ctid stays valid until ``apply``: the force is locked,
# nothing else in the transaction rewrites these rows, and no VACUUM moves a live tuple.
# Rows COPYed straight into records (``direct``) are not classified.
_PG_CLASSIFY_SQL: Final = f"""
    WITH classified AS (
        UPDATE {STAGE} AS s SET (action, tid) = (
            SELECT {_action("postgresql")}, r.ctid
            FROM records AS r WHERE r.force_code = :force AND r.crime_ref = s.crime_ref)
        WHERE s.direct IS NULL
        RETURNING s.action)
    SELECT action, count(*) FROM classified GROUP BY action
"""

# SQLite's UPDATE ... FROM cannot alias the target; PostgreSQL's can, so both name it.
_SQLITE_CLASSIFY_SQL: Final = f"""
    UPDATE temp.{STAGE} AS s SET action = {_action("sqlite")}
    FROM records AS r
    WHERE r.force_code = :force AND r.crime_ref = s.crime_ref
"""

_HOLDS_RECORDS_SQL: Final = "SELECT 1 FROM records WHERE force_code = :force LIMIT 1"

_FIELDS_SQL: Final = ", ".join(_DATA_FIELDS)
_R_FIELDS_SQL: Final = ", ".join(f"r.{c}" for c in _DATA_FIELDS)
_S_FIELDS_SQL: Final = ", ".join(f"s.{c}" for c in _DATA_FIELDS)


def _keep_versions_sql(dialect: str) -> str:
    # PostgreSQL finds each record by the ctid ``classify`` kept (checked against the key).
    join = "r.ctid = s.tid AND " if dialect == "postgresql" else ""
    return f"""
    INSERT INTO record_versions (force_code, crime_ref, version, {_FIELDS_SQL},
        submission_id, valid_from, valid_to, replaced_by_submission_id)
    SELECT r.force_code, r.crime_ref, r.version, {_R_FIELDS_SQL},
        r.submission_id, r.valid_from, :now, :submission
    FROM records AS r JOIN {STAGE} AS s ON {join}r.crime_ref = s.crime_ref
    WHERE r.force_code = :force AND s.action = 'update'
    ORDER BY r.crime_ref
"""


def _update_sql(dialect: str) -> str:
    join = "records.ctid = s.tid AND " if dialect == "postgresql" else ""
    return f"""
    UPDATE records SET {", ".join(f"{c} = s.{c}" for c in _DATA_FIELDS)},
        version = records.version + 1, submission_id = :submission, valid_from = :now
    FROM {STAGE} AS s
    WHERE {join}records.force_code = :force AND records.crime_ref = s.crime_ref
      AND s.action = 'update'
"""


def _insert_sql(dialect: str) -> str:
    # PostgreSQL's primary key then grows in order; SQLite is faster unsorted (its sort of
    # the stage costs more than it saves).
    order = "ORDER BY s.crime_ref" if dialect == "postgresql" else ""
    return f"""
    INSERT INTO records (force_code, crime_ref, {_FIELDS_SQL}, version, submission_id, valid_from)
    SELECT :force, s.crime_ref, {_S_FIELDS_SQL}, 1, :submission, :now
    FROM {STAGE} AS s WHERE s.action IS NULL AND s.direct IS NULL
    {order}
"""


@dataclass(frozen=True, slots=True)
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int
    stale: int
    stale_rows: tuple[tuple[int, str], ...]  # (row number, crime_ref), at most 1,000

    @property
    def changed(self) -> int:
        return self.inserted + self.updated

    def plus(self, later: MergeCounts) -> MergeCounts:
        """The counts of two batches of one submission, ``later`` staged after this one."""
        return MergeCounts(
            inserted=self.inserted + later.inserted,
            updated=self.updated + later.updated,
            unchanged=self.unchanged + later.unchanged,
            stale=self.stale + later.stale,
            stale_rows=(self.stale_rows + later.stale_rows)[:_STALE_ROWS_KEPT],
        )


NO_COUNTS: Final = MergeCounts(0, 0, 0, 0, ())


def inserted_only(rows: int) -> MergeCounts:
    """The counts of ``rows`` new rows written without the stage (``staging.copy_records``)."""
    return MergeCounts(rows, 0, 0, 0, ())


_STALE_ROWS_KEPT: Final = 1000


def classify(conn: Connection, force: str) -> MergeCounts:
    """Set every staged row's ``action``; the counts are those ``apply`` will then write.

    Call it with the force locked. A force that holds no records has nothing to compare
    with: every row stays NULL (new), and nothing is joined.
    """
    held = conn.execute(sql_text(_HOLDS_RECORDS_SQL), {"force": force}).first() is not None
    if not held:
        return counts(conn)
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS temp.{STAGE}_ref ON {STAGE} (crime_ref)")
        conn.execute(sql_text(_SQLITE_CLASSIFY_SQL), {"force": force})
        return counts(conn)
    with _roomy(conn):
        by_action = dict(conn.execute(sql_text(_PG_CLASSIFY_SQL), {"force": force}).tuples().all())
    return _counts(conn, by_action)


def apply(
    conn: Connection,
    *,
    force: str,
    submission_id: str,
    now: dt.datetime,
    classified: MergeCounts | None = None,
) -> None:
    """Keep replaced versions, update changed rows, insert new ones (after ``classify``).

    Given ``classify``'s counts, statements with nothing to write are not run.
    """
    params = {"force": force, "submission": submission_id, "now": now}
    dialect = conn.dialect.name
    steps = []
    if classified is None or classified.updated:
        steps += [_keep_versions_sql(dialect), _update_sql(dialect)]
    if classified is None or classified.inserted:
        steps.append(_insert_sql(dialect))
    with _roomy(conn):
        for sql in steps:
            statement = text(sql).bindparams(bindparam("now", type_=UTCDateTime()))
            conn.execute(statement, params)


@contextmanager
def _roomy(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, sort a batch in memory (64 MB of work_mem) and skip JIT compilation.

    The default 4 MB spills a batch's sort of replaced versions to disk; JIT costs more
    than it saves on these statements. Transaction-local, put back afterwards (a rollback
    puts them back if the block fails).
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    saved = conn.exec_driver_sql("SELECT current_setting('work_mem'), current_setting('jit')").one()
    conn.exec_driver_sql(
        "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true)"
    )
    yield
    conn.execute(
        text("SELECT set_config('work_mem', :work_mem, true), set_config('jit', :jit, true)"),
        {"work_mem": saved[0], "jit": saved[1]},
    )


def counts(conn: Connection) -> MergeCounts:
    """The counts of what is staged and classified (the rows staged ``direct`` aside)."""
    by_action = dict(
        conn.execute(
            sql_text(f"SELECT action, count(*) FROM {STAGE} WHERE direct IS NULL GROUP BY action")
        )
        .tuples()
        .all()
    )
    return _counts(conn, by_action)


def _counts(conn: Connection, by_action: dict[str | None, int]) -> MergeCounts:
    stale = int(by_action.get("stale", 0))
    stale_rows: tuple[tuple[int, str], ...] = ()
    if stale:
        stale_rows = tuple(
            (int(n), str(ref))
            for n, ref in conn.execute(
                text(
                    f"SELECT row_number, crime_ref FROM {STAGE} WHERE action = 'stale' "
                    f"ORDER BY row_number LIMIT {_STALE_ROWS_KEPT}"
                )
            ).tuples()
        )
    return MergeCounts(
        inserted=int(by_action.get(None, 0)),
        updated=int(by_action.get("update", 0)),
        unchanged=int(by_action.get("unchanged", 0)),
        stale=stale,
        stale_rows=stale_rows,
    )
