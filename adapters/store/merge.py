"""Set-based merge of the staging table into ``records`` and ``record_versions``.

Each staged row is classified once (``action``): NULL = new crime_ref (insert), ``update``,
``unchanged`` (every field equal) or ``stale`` (its ``updated_at`` is older than the stored
one: not applied). Replaced versions are copied to ``record_versions`` before the update, so
no version is ever lost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, bindparam, text

from adapters.store.staging import STAGE
from adapters.store.types import UTCDateTime
from schema.record import FIELD_NAMES

_DATA_FIELDS: Final = tuple(name for name in FIELD_NAMES if name != "crime_ref")


def _same(dialect: str, column: str) -> str:
    op = "IS NOT DISTINCT FROM" if dialect == "postgresql" else "IS"
    return f"s.{column} {op} r.{column}"


def _classify_sql(dialect: str) -> str:
    all_same = " AND ".join(_same(dialect, c) for c in _DATA_FIELDS)
    target = STAGE if dialect == "postgresql" else f"temp.{STAGE}"
    # SQLite's UPDATE ... FROM cannot alias the target; PostgreSQL's can, so both name it.
    return f"""
        UPDATE {target} AS s SET action = CASE
            WHEN r.updated_at IS NOT NULL AND s.updated_at IS NOT NULL
                 AND s.updated_at < r.updated_at THEN 'stale'
            WHEN {all_same} THEN 'unchanged'
            ELSE 'update' END
        FROM records AS r
        WHERE r.force_code = :force AND r.crime_ref = s.crime_ref
    """


_FIELDS_SQL: Final = ", ".join(_DATA_FIELDS)
_R_FIELDS_SQL: Final = ", ".join(f"r.{c}" for c in _DATA_FIELDS)
_S_FIELDS_SQL: Final = ", ".join(f"s.{c}" for c in _DATA_FIELDS)

_KEEP_VERSIONS_SQL: Final = f"""
    INSERT INTO record_versions (force_code, crime_ref, version, {_FIELDS_SQL},
        submission_id, valid_from, valid_to, replaced_by_submission_id)
    SELECT r.force_code, r.crime_ref, r.version, {_R_FIELDS_SQL},
        r.submission_id, r.valid_from, :now, :submission
    FROM records AS r JOIN {STAGE} AS s ON r.crime_ref = s.crime_ref
    WHERE r.force_code = :force AND s.action = 'update'
"""

_UPDATE_SQL: Final = f"""
    UPDATE records SET {", ".join(f"{c} = s.{c}" for c in _DATA_FIELDS)},
        version = records.version + 1, submission_id = :submission, valid_from = :now
    FROM {STAGE} AS s
    WHERE records.force_code = :force AND records.crime_ref = s.crime_ref
      AND s.action = 'update'
"""

_INSERT_SQL: Final = f"""
    INSERT INTO records (force_code, crime_ref, {_FIELDS_SQL}, version, submission_id, valid_from)
    SELECT :force, s.crime_ref, {_S_FIELDS_SQL}, 1, :submission, :now
    FROM {STAGE} AS s WHERE s.action IS NULL
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


def classify(conn: Connection, force: str) -> None:
    conn.execute(text(_classify_sql(conn.dialect.name)), {"force": force})


def apply(conn: Connection, *, force: str, submission_id: str, now: dt.datetime) -> None:
    """Keep replaced versions, update changed rows, insert new ones (after ``classify``)."""
    params = {"force": force, "submission": submission_id, "now": now}
    for sql in (_KEEP_VERSIONS_SQL, _UPDATE_SQL, _INSERT_SQL):
        statement = text(sql).bindparams(bindparam("now", type_=UTCDateTime()))
        conn.execute(statement, params)


def counts(conn: Connection) -> MergeCounts:
    by_action = dict(
        conn.execute(text(f"SELECT action, count(*) FROM {STAGE} GROUP BY action")).tuples().all()
    )
    stale_rows = tuple(
        (int(n), str(ref))
        for n, ref in conn.execute(
            text(
                f"SELECT row_number, crime_ref FROM {STAGE} WHERE action = 'stale' "
                "ORDER BY row_number LIMIT 1000"
            )
        ).tuples()
    )
    return MergeCounts(
        inserted=int(by_action.get(None, 0)),
        updated=int(by_action.get("update", 0)),
        unchanged=int(by_action.get("unchanged", 0)),
        stale=int(by_action.get("stale", 0)),
        stale_rows=stale_rows,
    )
