"""Loading validated records into a per-transaction staging table, as fast as the driver allows.

PostgreSQL gets binary ``COPY`` (the physical limit the ingestion benchmark compares with);
SQLite gets batched ``executemany``. The merge into ``records`` is then a few set-based
statements (``adapters.store.merge``) instead of one round trip per row.

Rows known to be new (their crime_ref is not stored: ``existing_refs``) can skip the stage
on PostgreSQL: ``copy_records`` COPYs them straight into ``records``. When a change hook
will read the stage, ``stage_direct`` stages them too, marked ``direct`` (the merge leaves
them alone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

from sqlalchemy import Connection, text

from adapters.store.types import sqlite_datetime_text
from schema.record import FIELD_NAMES, FIELDS, Kind, Record

STAGE: Final = "soteria_stage"
_BATCH: Final = 5_000
ANALYSE_FROM_ROWS: Final = 1_000  # smaller stages are not worth an ANALYZE's catalogue writes

_PG_TYPES: Final = {
    Kind.DATE: "date",
    Kind.DATETIME: "timestamptz",
    Kind.BOOLEAN: "bool",
}


def _pg_type(kind: Kind) -> str:
    return _PG_TYPES.get(kind, "text")


class StageWriter(Protocol):
    def write(self, row_number: int, record: Record) -> None: ...
    def close(self) -> None: ...


TOUCHED: Final = "soteria_touched_suspects"  # suspects a push touches (the rollup hook)


def session_tables_sql() -> list[str]:
    """PostgreSQL: the push path's temporary tables, made once per database connection.

    Creating them in every push's transaction (``ON COMMIT DROP``) was a third of the
    database's work under a load of small pushes: each CREATE writes a row per column to
    the catalogue and each drop deletes them again. Made when the connection opens
    (``adapters.store.engine``), they live as long as it does; ``ON COMMIT DELETE ROWS``
    empties them when a transaction that used them commits, and a rolled-back one's rows
    were never visible, so every push starts from empty tables.
    """
    columns = ", ".join(f"{f.name} {_pg_type(f.kind)}" for f in FIELDS)
    return [
        # No index: PostgreSQL joins the stage to records by hashing (or by probing the
        # records primary key for a small stage), and every COPYed row would pay for one.
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (row_number integer, {columns}, "
        "action text, direct boolean, tid tid) ON COMMIT DELETE ROWS",
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {TOUCHED} (suspect_ref text PRIMARY KEY) "
        "ON COMMIT DELETE ROWS",
    ]


def create_stage(conn: Connection) -> None:
    """An empty stage: the data row number, one column per field, the action, ``direct``.

    ``direct`` is true for a row already COPYed into ``records`` (``stage_direct``). On
    PostgreSQL ``tid`` is where the row's record is (``merge.classify`` sets it), and the
    table exists already, empty at the start of every transaction (``session_tables_sql``).
    """
    if conn.dialect.name == "postgresql":
        return
    columns = ", ".join(f.name for f in FIELDS)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {STAGE} (row_number, {columns}, action, direct)")
    # The merge looks staged rows up by crime_ref; SQLite only joins by nested loops, so
    # without an index a large update is quadratic.
    conn.exec_driver_sql(f"CREATE INDEX {STAGE}_ref ON {STAGE} (crime_ref)")


class _PostgresStage:
    def __init__(self, conn: Connection) -> None:
        raw: Any = conn.connection.driver_connection
        self._cursor = raw.cursor()
        names = ", ".join(("row_number", *FIELD_NAMES))
        self._copy_cm = self._cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN (FORMAT BINARY)")
        self._copy = self._copy_cm.__enter__()
        self._copy.set_types(["int4", *(_pg_type(f.kind) for f in FIELDS)])

    def write(self, row_number: int, record: Record) -> None:
        self._copy.write_row((row_number, *record))

    def close(self) -> None:
        self._copy_cm.__exit__(None, None, None)
        self._cursor.close()


# Positions in a staged row (the row number first) of the values SQLite stores as text.
_DATE_COLUMNS: Final = tuple(1 + i for i, f in enumerate(FIELDS) if f.kind is Kind.DATE)
_DATETIME_COLUMNS: Final = tuple(1 + i for i, f in enumerate(FIELDS) if f.kind is Kind.DATETIME)


# Text of the dates seen (a file holds a few thousand distinct days): one dict hit each.
_DAY_TEXT: dict[dt.date, str] = {}
_SECOND_TEXT: dict[int, str] = {}  # second of the day -> " HH:MM:SS.000000"


def _datetime_text(value: dt.datetime) -> str:
    """``sqlite_datetime_text``, faster for the whole-second UTC values records mostly hold."""
    if value.microsecond or value.tzinfo is not dt.UTC:
        return sqlite_datetime_text(value)
    day = value.date()
    date_text = _DAY_TEXT.get(day)
    if date_text is None:
        date_text = _DAY_TEXT[day] = day.isoformat()
    second = value.hour * 3600 + value.minute * 60 + value.second
    time_text = _SECOND_TEXT.get(second)
    if time_text is None:
        time_text = _SECOND_TEXT[second] = (
            f" {value.hour:02d}:{value.minute:02d}:{value.second:02d}.000000"
        )
    return date_text + time_text


class _SqliteStage:
    def __init__(self, conn: Connection) -> None:
        self._raw: Any = conn.connection.driver_connection
        marks = ", ".join("?" * (len(FIELD_NAMES) + 1))
        names = ", ".join(("row_number", *FIELD_NAMES))
        self._sql = f"INSERT INTO temp.{STAGE} ({names}) VALUES ({marks})"
        self._batch: list[list[object]] = []

    def write(self, row_number: int, record: Record) -> None:
        row: list[Any] = [row_number, *record]
        days = _DAY_TEXT
        for i in _DATE_COLUMNS:
            value = row[i]
            if value is not None:
                text = days.get(value)
                if text is None:
                    text = days[value] = value.isoformat()
                row[i] = text
        for i in _DATETIME_COLUMNS:
            value = row[i]
            if value is not None:
                row[i] = _datetime_text(value)
        self._batch.append(row)
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._raw.executemany(self._sql, self._batch)
            self._batch.clear()

    def close(self) -> None:
        self._flush()


def open_stage(conn: Connection) -> StageWriter:
    create_stage(conn)
    return _writer(conn)


def _writer(conn: Connection) -> StageWriter:
    if conn.dialect.name == "postgresql":
        return _PostgresStage(conn)
    return _SqliteStage(conn)


def clear_stage(conn: Connection) -> None:
    """Empty the stage (already created) for the next batch."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {STAGE}")
    else:
        conn.exec_driver_sql(f"DELETE FROM temp.{STAGE}")


def write_stage(conn: Connection, rows: Iterable[tuple[int, Record]]) -> None:
    """Add ``rows`` to the stage (already created)."""
    writer = _writer(conn)
    try:
        for number, record in rows:
            writer.write(number, record)
    finally:
        writer.close()


def restage(conn: Connection, rows: Iterable[tuple[int, Record]]) -> None:
    """Replace what the stage (already created) holds with ``rows``: the next batch."""
    clear_stage(conn)
    write_stage(conn, rows)


def stage_records(conn: Connection, rows: Iterable[tuple[int, Record]]) -> None:
    """Stage an in-memory batch (tests, small pushes)."""
    create_stage(conn)
    write_stage(conn, rows)


def analyse_stage(conn: Connection, rows: int) -> None:
    """Give PostgreSQL the classified stage's size and actions (``rows`` >= 1,000).

    For the change hooks, which join the stage to ``records`` by ``action``. Nothing
    analyses a temporary table on its own, and without statistics the planner takes the
    rows of one action for a few: it then joins by nested loops that re-read the whole
    stage for every record, which turns a join of 50,000 rows from a second into
    minutes. Only ``action`` is sampled (a full ANALYZE costs ten times as much).
    """
    if conn.dialect.name == "postgresql" and rows >= ANALYSE_FROM_ROWS:
        conn.exec_driver_sql(f"ANALYZE {STAGE} (action)")


def drop_stage(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TABLE IF EXISTS temp.{STAGE}"))


_RECORD_COLUMNS: Final = ("force_code", *FIELD_NAMES, "version", "submission_id", "valid_from")
_RECORD_TYPES: Final = ("text", *(_pg_type(f.kind) for f in FIELDS), "int4", "text", "timestamptz")
# Each ref inside the range of the force's stored refs is looked up by the primary key (a
# subquery per ref: one index probe each, however many records the force holds and whatever
# the planner believes of them); a ref outside that range is not looked up at all.
_EXISTING_SQL: Final = """
    SELECT u.ref FROM unnest(%(refs)s::text[]) AS u(ref)
    WHERE u.ref >= (SELECT min(crime_ref) FROM records WHERE force_code = %(force)s)
      AND u.ref <= (SELECT max(crime_ref) FROM records WHERE force_code = %(force)s)
      AND (SELECT true FROM records AS r WHERE r.force_code = %(force)s AND r.crime_ref = u.ref)
"""


def existing_refs(conn: Connection, force: str, refs: Sequence[str]) -> set[str]:
    """Which of ``refs`` ``records`` holds for ``force`` (PostgreSQL)."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(_EXISTING_SQL, {"force": force, "refs": list(refs)})
        return {ref for (ref,) in cursor}


def copy_records(
    conn: Connection,
    rows: Iterable[Record],
    *,
    force: str,
    submission_id: str,
    now: dt.datetime,
) -> None:
    """COPY new records straight into ``records`` as their version 1 (PostgreSQL).

    The caller makes sure no row's crime_ref is stored yet (the force is locked, and
    ``existing_refs`` or an empty force says so): a clash would fail the whole push.
    """
    raw: Any = conn.connection.driver_connection
    names = ", ".join(_RECORD_COLUMNS)
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY records ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(list(_RECORD_TYPES))
        write = copy.write_row
        for record in rows:
            write((force, *record, 1, submission_id, now))


def stage_direct(conn: Connection, rows: Iterable[tuple[int, Record]]) -> None:
    """Stage the rows ``copy_records`` writes, whole, with ``direct`` true (PostgreSQL).

    For the change hooks, which read every staged row's values (the merge neither
    classifies, counts nor inserts them).
    """
    raw: Any = conn.connection.driver_connection
    names = ", ".join(("row_number", *FIELD_NAMES, "direct"))
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int4", *(_pg_type(f.kind) for f in FIELDS), "bool"])
        write = copy.write_row
        for number, record in rows:
            write((number, *record, True))
